"""The Dassl trainer shared by every prompt learner here, with or without label alignment.

A subclass only says what it learns: ``learn_context`` (the prompt's context, e.g. CoOp's
vectors) and ``learn_labels`` (LAMM's label embeddings, trained with the hierarchical loss),
and which prompt learner it builds. The model and the loss are the pure modules of ``lamm/``;
this class wires them into Dassl's loop: building, the optimisation step in
``forward_backward``, checkpoints and evaluation.
"""
import os.path as osp

import torch
from dassl.metrics import compute_accuracy
from dassl.optim import build_optimizer

from lamm.errors import ConfigError
from lamm.hierarchical_loss import HierarchicalLoss
from lamm.model import PromptedCLIP, Shortcuts
from lamm.precision import autocast
from lamm.prompt_learner import PromptLearner
from lamm.text_encoder import resolve_checkpointing

from .checkpoints import (
    capture_rng_state,
    latest_checkpoint,
    load_prompt_learner_checkpoint,
    read_checkpoint,
    restore_rng_state,
    save_checkpoint_atomically,
)
from .clip_trainer import ClipTrainer
from .config import check_choice, lambda_wc
from .lr_scheduler import build_lr_scheduler


class PromptTrainer(ClipTrainer):
    """Prompt learning on frozen CLIP; subclasses choose what is learned."""

    learn_context = True
    learn_labels = False
    model_name = "prompt_learner"  # the checkpoint folder, as in CoOp

    def check_cfg(self, cfg):
        super().check_cfg(cfg)
        check_choice(cfg.TRAINER.LAMM.ORIGINAL_CONTEXT, ("current", "initial"), "TRAINER.LAMM.ORIGINAL_CONTEXT")
        check_choice(cfg.TRAINER.LAMM.UNSEEN_CLASSES, ("error", "init"), "TRAINER.LAMM.UNSEEN_CLASSES")
        if cfg.DATASET.SUBSAMPLE_CLASSES not in ("all", "base", "new"):
            raise ConfigError(f"DATASET.SUBSAMPLE_CLASSES must be all, base or new, got {cfg.DATASET.SUBSAMPLE_CLASSES!r}.")

    def build_criterion(self) -> HierarchicalLoss:
        options = self.cfg.TRAINER.LAMM
        if not (self.learn_labels and options.HIERARCHICAL_LOSS):
            return HierarchicalLoss(lambda_wc=0.0, lambda_cos=0.0, lambda_kd=0.0)
        return HierarchicalLoss(
            lambda_wc=lambda_wc(self.cfg),
            lambda_cos=options.LAMBDA_COS,
            lambda_kd=options.LAMBDA_KD,
            kd_temperature=options.KD_TEMPERATURE,
            cos_reduction=options.COS_REDUCTION,
            kd_direction=options.KD_DIRECTION,
        )

    def label_options(self) -> dict:
        lamm = self.cfg.TRAINER.LAMM
        # A dataset that is part of a wider label space (ImageNet-A within ImageNet, one half of
        # the classes) says where its classes sit there, so labels can move between the two.
        dataset = self.dm.dataset
        class_ids = getattr(dataset, "full_label_indices", None)
        if class_ids is None:
            class_ids = getattr(dataset, "imagenet_class_indices", None)  # ImageNet-A/R within ImageNet
        return {"label_tokens": lamm.LABEL_TOKENS if self.learn_labels else None, "label_init": lamm.LABEL_INIT,
                "class_ids": class_ids}

    def build_prompt_learner(self, clip_model) -> PromptLearner:
        """CoOp's prompt (TRAINER.COOP) with this trainer's learnable parts."""
        coop = self.cfg.TRAINER.COOP
        return PromptLearner(
            clip_model.token_embedding,
            self.dm.dataset.classnames,
            n_ctx=None if coop.CTX_INIT else coop.N_CTX,  # CoOp: CTX_INIT sets the length
            context_init=coop.CTX_INIT,
            class_token_position=coop.CLASS_TOKEN_POSITION,
            class_specific_context=coop.CSC,
            learn_context=self.learn_context,
            dtype=clip_model.dtype,
            **self.label_options(),
        )

    def build_model(self):
        cfg = self.cfg
        self.criterion = self.build_criterion()
        clip_model = self.load_clip_model()
        print("Building custom CLIP")
        shortcuts = cfg.TRAINER.SHORTCUTS
        prompt_learner = self.build_prompt_learner(clip_model)
        text_checkpointing = resolve_checkpointing(cfg.TRAINER.MEMORY.TEXT_CHECKPOINTING, prompt_learner.num_classes)
        print(f"Text tower activation checkpointing: {'on' if text_checkpointing else 'off'}")
        self.model = PromptedCLIP(
            clip_model, prompt_learner,
            shortcuts=Shortcuts(
                truncate_prompts=shortcuts.TRUNCATE_PROMPTS,
                share_prompt_prefix=shortcuts.SHARE_PROMPT_PREFIX,
                cache_constant_text=shortcuts.CACHE_CONSTANT_TEXT,
                cache_test_image_features=shortcuts.CACHE_TEST_IMAGE_FEATURES,
            ),
            original_uses_initial_context=cfg.TRAINER.LAMM.ORIGINAL_CONTEXT == "initial",
            text_checkpointing=text_checkpointing,
        )
        for name, param in self.model.named_parameters():
            if not name.startswith("prompt_learner."):
                param.requires_grad_(False)
        trainable = sorted(name for name, p in self.model.named_parameters() if p.requires_grad)
        print(f"Parameters to be updated: {trainable}")
        print(f"Loss terms and weights: {self.criterion.weights}")
        if cfg.MODEL.INIT_WEIGHTS:
            self.init_from(cfg.MODEL.INIT_WEIGHTS)
        self.model.to(self.device)

        self.optim = build_optimizer(self.model.prompt_learner, cfg.OPTIM)
        self.sched = build_lr_scheduler(self.optim, cfg.OPTIM)
        self.register_model(self.model_name, self.model.prompt_learner, self.optim, self.sched)
        self.scaler = torch.amp.GradScaler(self.device.type) if self.precision == "amp" else None
        self.loaded_epoch = None
        self._test_image_features = {}

    def init_from(self, path: str):
        """Start from another run's prompts (a run folder or a checkpoint file): the context, and
        the label embeddings of the classes both runs know (frozen with FREEZE_LOADED_LABELS)."""
        folder = osp.join(path, self.model_name) if osp.isdir(osp.join(path, self.model_name)) else path
        checkpoint_path = latest_checkpoint(folder) if osp.isdir(folder) else path
        if not checkpoint_path or not osp.isfile(checkpoint_path):
            raise ConfigError(f"MODEL.INIT_WEIGHTS {path}: no {self.model_name} checkpoint there.")
        state = read_checkpoint(checkpoint_path)
        state = state.get("state_dict", state)
        learner = self.model.prompt_learner
        labels = {k[len("label_embeddings."):]: v for k, v in state.items() if k.startswith("label_embeddings.")}
        if learner.label_embeddings is not None and "class_index" in labels:
            adopted = learner.label_embeddings.adopt(labels, freeze=self.cfg.TRAINER.LAMM.FREEZE_LOADED_LABELS)
            print(f"Label embeddings of {adopted} classes taken from {checkpoint_path}"
                  + (" (frozen)" if self.cfg.TRAINER.LAMM.FREEZE_LOADED_LABELS else ""))
        own = learner.state_dict()
        rest = {k: v for k, v in state.items()
                if not k.startswith("label_embeddings.") and k in own and own[k].shape == v.shape}
        learner.load_state_dict(rest, strict=False)
        print(f"Initialised {sorted(rest)} from {checkpoint_path}")

    def forward_backward(self, batch):
        images, labels = self.parse_batch_train(batch)
        with autocast(self.precision, self.device):
            outputs = self.model.forward_features(images, with_original=self.criterion.needs_original_prompts)
            label_embeddings = self.model.prompt_learner.label_embeddings
            terms = self.criterion(
                outputs["logits"], labels,
                text_features=outputs["text_features"],
                original_text_features=outputs["original_text_features"],
                original_logits=outputs["original_logits"],
                label_vectors=None if label_embeddings is None else label_embeddings.vectors,
                label_anchor=None if label_embeddings is None else label_embeddings.anchor,
            )
            loss = self.criterion.total(terms)
        self.check_finite(loss, terms)
        if self.scaler is None:
            self.model_backward_and_update(loss)
        else:
            self.optim.zero_grad()
            self.scaler.scale(loss).backward()
            self.scaler.step(self.optim)
            self.scaler.update()

        summary = {"loss": loss.item(), "acc": compute_accuracy(outputs["logits"], labels)[0].item()}
        if len(terms) > 1:  # log every term of the hierarchical loss
            summary.update({name: value.item() for name, value in terms.items()})
        if (self.batch_idx + 1) == self.num_batches:
            self.update_lr()
        return summary

    def check_finite(self, loss, terms):
        if torch.isfinite(loss):
            return
        values = ", ".join(f"{name}={value.item():.4g}" for name, value in terms.items())
        raise FloatingPointError(
            f"Non-finite loss at epoch {self.epoch + 1}, batch {self.batch_idx + 1}: {values}. "
            f"With TRAINER.{self.options_node}.PREC {self.precision}, try fp32 or amp, or a lower OPTIM.LR."
        )

    def parse_batch_test(self, batch):
        images, labels = super().parse_batch_test(batch)
        return (images, batch["impath"]), labels

    def model_inference(self, inputs):
        images, impaths = inputs
        model = self.model
        if model.prompted_image_encoder is not None or not model.shortcuts.cache_test_image_features:
            return model(images)
        # Test transforms are deterministic and the image tower has no prompts: an image's
        # feature is the same in every evaluation of the run (e.g. Set 1 before and after stage 2).
        cache = self._test_image_features
        missing = [i for i, path in enumerate(impaths) if path not in cache]
        if missing:
            features = model.encode_images(images[missing])
            cache.update({impaths[i]: features[row] for row, i in enumerate(missing)})
        image_features = torch.stack([cache[path] for path in impaths])
        return model.logits(image_features, model.text_features())

    def save_model(self, epoch, directory, is_best=False, val_result=None, model_name=""):
        """Dassl's checkpoint, plus the random state, written atomically; old epochs pruned."""
        for name in self.get_model_names():
            optim, sched = self._optims[name], self._scheds[name]
            state = {
                "state_dict": self._models[name].state_dict(),
                "epoch": epoch + 1,
                "optimizer": None if optim is None else optim.state_dict(),
                "scheduler": None if sched is None else sched.state_dict(),
                "val_result": val_result,
                "rng_state": capture_rng_state(),
            }
            filename = model_name or f"model.pth.tar-{epoch + 1}"
            save_checkpoint_atomically(state, osp.join(directory, name), filename, keep_epochs=(self.max_epoch,))
            if is_best and not model_name:
                save_checkpoint_atomically(state, osp.join(directory, name), "model-best.pth.tar",
                                           keep_epochs=(epoch + 1, self.max_epoch))

    def resume_model_if_exist(self, directory):
        """Continue from the latest checkpoint (Dassl's lines), restoring the random state."""
        names = self.get_model_names()
        paths = {name: latest_checkpoint(osp.join(directory, name)) for name in names}
        if not all(paths.values()):
            print("No checkpoint found, train from scratch")
            return 0
        print(f"Found checkpoint at {directory} (will resume training)")
        start_epoch = 0
        for name, path in paths.items():
            print(f'Loading checkpoint from "{path}"')
            checkpoint = read_checkpoint(path)
            self._models[name].load_state_dict(checkpoint["state_dict"])
            if self._optims[name] is not None and checkpoint.get("optimizer"):
                self._optims[name].load_state_dict(checkpoint["optimizer"])
            if self._scheds[name] is not None and checkpoint.get("scheduler"):
                self._scheds[name].load_state_dict(checkpoint["scheduler"])
            start_epoch = checkpoint["epoch"]
            print(f"Previous epoch: {start_epoch}")
            if checkpoint.get("rng_state"):
                restore_rng_state(checkpoint["rng_state"])
        return start_epoch

    def load_model(self, directory, epoch=None):
        if not directory:
            print("Note that load_model() is skipped as no pretrained model is given")
            return
        self.loaded_epoch = load_prompt_learner_checkpoint(
            self.model.prompt_learner, osp.join(directory, self.model_name), epoch, self.model_name,
            unseen_classes=self.cfg.TRAINER.LAMM.UNSEEN_CLASSES,
        )

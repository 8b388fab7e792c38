"""The Dassl trainer shared by every prompt learner here, with or without label alignment.

A subclass only says what it learns: ``learn_context`` (the prompt's context, e.g. CoOp's
vectors) and ``learn_labels`` (LAMM's label embeddings, trained with the hierarchical loss),
and which prompt learner it builds. The model and the loss are the pure modules of ``lamm/``;
this class wires them into Dassl's loop: building, the optimisation step in
``forward_backward`` (the model's outputs, the loss's named terms, their weighted sum) and
evaluation. Checkpoints (saving, resuming, eval loading and
MODEL.INIT_WEIGHTS) are ``CheckpointMixin`` in ``checkpoints.py``.
"""
import torch
from dassl.metrics import compute_accuracy
from dassl.optim import build_optimizer

from lamm.backbones import as_backbone
from lamm.errors import ConfigError, NonFiniteLossError
from lamm.hierarchical_loss import HierarchicalLoss
from lamm.model import PromptedCLIP, Shortcuts, inexact_shortcuts
from lamm.precision import autocast
from lamm.prompt_learner import PromptLearner
from lamm.text_encoder import resolve_checkpointing

from .checkpoints import CheckpointMixin
from .clip_trainer import ClipTrainer
from .config import lambda_wc
from .lr_scheduler import build_lr_scheduler
from .memory import resolve_return_freed_memory, return_freed_memory_to_os


class PromptTrainer(CheckpointMixin, ClipTrainer):
    """Prompt learning on frozen CLIP; subclasses choose what is learned."""

    learn_context = True
    learn_labels = False
    model_name = "prompt_learner"  # the checkpoint folder, as in CoOp
    model_class = PromptedCLIP  # CoCoOp: ConditionalPromptedCLIP (per-image text features)

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
        # the classes) says where its classes sit there (every reader declares ``class_ids``;
        # None: 0..n-1), so labels can move between the two.
        return {"label_tokens": lamm.LABEL_TOKENS if self.learn_labels else None, "label_init": lamm.LABEL_INIT,
                "class_ids": self.dm.dataset.class_ids}

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
            truncate_after_eot=self.cfg.TRAINER.SHORTCUTS.TRUNCATE_PROMPTS and as_backbone(clip_model).prompt_shortcuts_exact,
            text_tokenizer=as_backbone(clip_model).tokenizer,
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
        if resolve_return_freed_memory(cfg.TRAINER.MEMORY.RETURN_FREED_MEMORY, text_checkpointing, self.device.type):
            done = return_freed_memory_to_os()
            print(f"Freed memory returned to the OS: {'on' if done else 'not supported by this C library'}")
        requested = Shortcuts(
            truncate_prompts=shortcuts.TRUNCATE_PROMPTS,
            share_prompt_prefix=shortcuts.SHARE_PROMPT_PREFIX,
            cache_constant_text=shortcuts.CACHE_CONSTANT_TEXT,
            cache_test_image_features=shortcuts.CACHE_TEST_IMAGE_FEATURES,
        )
        self.shortcuts_off = inexact_shortcuts(requested, as_backbone(clip_model))
        if self.shortcuts_off:
            print(f"Shortcuts off, not exact for this text tower (not causal or not read at the end-of-text "
                  f"token): {', '.join(self.shortcuts_off)}")
        self.model = self.model_class(
            clip_model, prompt_learner,
            shortcuts=requested,
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

    def forward_backward(self, batch):
        images, labels = self.parse_batch_train(batch)
        with autocast(self.precision, self.device):
            outputs = self.model.forward_features(images, with_original=self.criterion.needs_original_prompts)
            terms = self.criterion(outputs, labels)
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
        key = f"TRAINER.{self.options_node}.PREC"
        if self.precision == "fp32":  # the run is already in full precision: the step size is the suspect
            hint = f"The run is in fp32: try a lower OPTIM.LR (now {self.cfg.OPTIM.LR:g})."
        else:
            other = "fp32 or amp" if self.precision == "fp16" else "fp32"
            hint = f"With {key} {self.precision}, try {key} {other}, or a lower OPTIM.LR (now {self.cfg.OPTIM.LR:g})."
        raise NonFiniteLossError(
            f"Non-finite loss at epoch {self.epoch + 1}, batch {self.batch_idx + 1}: {values}. {hint}"
        )

    def parse_batch_test(self, batch):
        images, labels = super().parse_batch_test(batch)
        return (images, batch["impath"]), labels

    def model_inference(self, inputs):
        images, impaths = inputs
        return self.model.test_logits(images, impaths)

"""A trained model rebuilt from its run folder alone, without Dassl's DataManager (issue 14).

The run holds what is needed: ``config.yaml`` (trainer, backbone, prompt shape, INPUT.*), the
checkpoint (the learned tensors; its ``meta`` names the classes) and ``results.json``. The class
names come from the checkpoint's ``meta``, else from the record's ``classnames``, else from the
dataset rebuilt with the run's config (DATASET.ROOT). The prompt learner is built by the run's own
trainer class (its ``build_prompt_learner``/``build_model``), so the model is exactly the one the
run evaluated; only the data loading is skipped.
"""
import contextlib
import os.path as osp
import sys
from types import SimpleNamespace
from typing import Optional

import torch
import torch.nn.functional as F
from dassl.engine import TRAINER_REGISTRY

from lamm.errors import ConfigError, LammError
from lamm.model import PromptedCLIP
from lamm.preprocess import resize_mode, test_preprocessing

from .checkpoints import checkpoint_file, read_checkpoint
from .config import extend_cfg
from .prompt_trainer import PromptTrainer

from lamm.run_record import read_record


def load_run_config(run_dir: str):
    """The run's merged config (``config.yaml``) over today's defaults."""
    from dassl.config import get_cfg_default

    path = osp.join(run_dir, "config.yaml")
    if not osp.isfile(path):
        raise ConfigError(f"{run_dir} is not a run folder: it has no config.yaml (give the --output-dir of a train.py run).")
    cfg = get_cfg_default()
    extend_cfg(cfg)
    cfg.set_new_allowed(True)  # keys a newer version wrote are kept, not refused
    cfg.merge_from_file(path)
    return cfg


def _classes_from_dataset(cfg, run_dir: str):
    from dassl.data.datasets import build_dataset

    import datasets.readers  # noqa: F401  (registers the readers)
    try:
        dataset = build_dataset(cfg)
    except (LammError, OSError, AssertionError) as error:
        raise ConfigError(
            f"{run_dir} names no classes (neither its checkpoint nor results.json), and the dataset "
            f"{cfg.DATASET.NAME} could not be read from DATASET.ROOT {cfg.DATASET.ROOT} ({error})."
        ) from error
    return list(dataset.classnames), getattr(dataset, "class_ids", None)


class TrainedModel:
    """A run's classifier: normalised text features per class and an image encoder.

    Attributes: ``trainer`` (TRAINER.NAME), ``classnames``, ``backbone`` (MODEL.BACKBONE.NAME),
    ``epoch`` (of the checkpoint, None for ZeroshotCLIP), ``preprocessing`` (see
    ``lamm.preprocess``), ``cfg``, ``clip_model``, and ``model`` (a ``PromptedCLIP``, None for
    ZeroshotCLIP).
    """

    def __init__(self, run_dir: str, epoch: Optional[int] = None, device: str = "cpu"):
        self.run_dir = run_dir
        self.cfg = cfg = load_run_config(run_dir)
        self.trainer = cfg.TRAINER.NAME
        if self.trainer not in TRAINER_REGISTRY.registered_names():
            raise ConfigError(f"{run_dir}: config.yaml names trainer {self.trainer!r}, which this code does not have.")
        self.backbone = cfg.MODEL.BACKBONE.NAME
        self.preprocessing = test_preprocessing(cfg.INPUT, resize_mode(cfg))
        self.device = torch.device(device)
        trainer_class = TRAINER_REGISTRY.get(self.trainer)
        learns = issubclass(trainer_class, PromptTrainer)

        checkpoint, path = {}, None
        if learns:
            path = checkpoint_file(osp.join(run_dir, trainer_class.model_name), epoch)
            if not osp.isfile(path):
                raise ConfigError(f"{run_dir}: no {self.trainer} checkpoint {path}"
                                  + (" (--load-epoch)" if epoch is not None else "")
                                  + ". Predict with a trained run (an eval-only run's folder holds no checkpoint).")
            checkpoint = read_checkpoint(path)
        self.checkpoint_path = path
        self.classnames, class_ids = self._classnames(checkpoint, run_dir)

        # The run's trainer class builds the model; a stand-in for the data manager gives the classes.
        stub = trainer_class.__new__(trainer_class)
        stub.cfg, stub.device = cfg, self.device
        stub.dm = SimpleNamespace(dataset=SimpleNamespace(classnames=self.classnames, full_label_indices=class_ids))
        with contextlib.redirect_stdout(sys.stderr):  # the build's progress lines stay off stdout
            if learns:
                clip_model = stub.load_clip_model()
                stub.model = PromptedCLIP(clip_model, stub.build_prompt_learner(clip_model)).to(self.device)
                stub.load_model(run_dir, epoch)
                self.model, self.epoch = stub.model.eval(), stub.loaded_epoch
            else:
                stub.build_model()
                clip_model, self.model, self.epoch = stub.clip_model, None, None
                self._zero_shot_features = stub.text_features
        self.clip_model = clip_model.eval()
        self.dtype = clip_model.dtype

    def _classnames(self, checkpoint: dict, run_dir: str):
        meta = checkpoint.get("meta") or {}
        state = checkpoint.get("state_dict", {})
        saved_ids = state.get("label_embeddings.class_ids")
        class_ids = meta.get("class_ids")
        if class_ids is None and saved_ids is not None:
            class_ids = saved_ids.tolist()
        if meta.get("classnames"):
            return list(meta["classnames"]), class_ids
        record = read_record(run_dir) or {}
        if record.get("classnames"):
            return list(record["classnames"]), class_ids
        names, dataset_ids = _classes_from_dataset(self.cfg, run_dir)
        return names, class_ids if class_ids is not None else dataset_ids

    @property
    def prompts_image_tower(self) -> bool:
        """MaPLe's prompts enter the image encoder: image features depend on the learned model."""
        return self.model is not None and self.model.prompted_image_encoder is not None

    @property
    def logit_scale(self) -> float:
        return float(self.clip_model.logit_scale.detach().exp())

    @property
    def logit_bias(self):
        bias = self.clip_model.logit_bias
        return None if bias is None else float(bias.detach())

    @torch.no_grad()
    def text_features(self) -> torch.Tensor:
        """(n_cls, D) normalised text features of the classes."""
        if self.model is None:
            return self._zero_shot_features
        return self.model.text_features()

    @torch.no_grad()
    def encode_images(self, images: torch.Tensor) -> torch.Tensor:
        """(B, 3, H, W) preprocessed images -> (B, D) normalised image features."""
        images = images.to(self.device)
        if self.model is None:
            return F.normalize(self.clip_model.encode_image(images.type(self.dtype)), dim=-1)
        return self.model.encode_images(images)

    @torch.no_grad()
    def logits(self, images: torch.Tensor) -> torch.Tensor:
        """(B, n_cls) logits, as the run's test computes them (PromptedCLIP.logits, ZeroshotCLIP)."""
        return self.clip_model.logits(self.encode_images(images), self.text_features())  # with any logit bias

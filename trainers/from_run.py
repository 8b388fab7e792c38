"""A trained model rebuilt from its run folder alone, without Dassl's DataManager (issue 14)."""
import contextlib
import os
import os.path as osp
import sys
from types import SimpleNamespace
from typing import Optional

import torch
import torch.nn.functional as F
from dassl.engine import TRAINER_REGISTRY

from lamm.errors import CheckpointError, CheckpointNotFoundError, ConfigError, LammError
from lamm.preprocess import resize_mode, test_preprocessing

from .checkpoints import checkpoint_file, epochs_present, read_checkpoint
from .config import extend_cfg
from .prompt_trainer import PromptTrainer

from . import registered  # noqa: F401  (a trained run names its trainer: every one must be registered)
from .record import read_record


def load_run_config(run_dir: str):
    """The run's merged config (``config.yaml``) over today's defaults."""
    from dassl.config import get_cfg_default

    path = osp.join(run_dir, "config.yaml")
    if not osp.isfile(path):
        raise ConfigError(f"{run_dir} is not a run folder: it has no config.yaml{_run_folder_hint(run_dir)}")
    cfg = get_cfg_default()
    extend_cfg(cfg)
    cfg.set_new_allowed(True)  # keys a newer version wrote are kept, not refused
    try:
        cfg.merge_from_file(path)
    except Exception as error:  # yaml's parse errors, yacs' type and key errors: all mean "not a run's config"
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise ConfigError(f"{path} cannot be read as a run's config ({reason}); it is not the config.yaml that "
                          "train.py writes.") from None
    if not cfg.TRAINER.NAME:
        raise ConfigError(f"{path} names no trainer (TRAINER.NAME): it is not the config.yaml that train.py writes.")
    return cfg


def _run_folder_hint(folder: str) -> str:
    """Where the run folder is, for a folder that is not one: its parent, or the runs below it."""
    from .checkpoints import is_checkpoint_folder, model_folders_in

    parent = osp.dirname(osp.normpath(folder))
    if is_checkpoint_folder(folder) and osp.isfile(osp.join(parent, "config.yaml")):
        return f"; it is a run's checkpoint folder: give the run folder above it, {parent}."
    if model_folders_in(folder):  # a run of the CoOp, MaPLe or official LAMM code
        return (f"; it holds checkpoints ({', '.join(name + '/' for name in model_folders_in(folder))}) but not the "
                "config that train.py writes, as runs of the CoOp, MaPLe or official LAMM code do. Evaluate them with "
                f"train.py --eval-only --model-dir {folder} and the matching --trainer and --config-file.")
    below = []
    for visited, (top, subfolders, files) in enumerate(os.walk(folder)):
        if visited >= 1000 or len(below) > 5:  # the folder may be a home folder, or /
            break
        if "config.yaml" in files:
            below.append(osp.relpath(top, folder))
        if "config.yaml" in files or osp.relpath(top, folder).count(os.sep) >= 4:
            subfolders[:] = []
        subfolders[:] = sorted(name for name in subfolders if not name.startswith("."))
    if below:
        shown = ", ".join(sorted(below)[:5]) + (", ..." if len(below) > 5 else "")
        return f"; it holds runs ({shown}): give one of them, e.g. {osp.join(folder, sorted(below)[0])}."
    return " (give the --output-dir of a train.py run)."


def _classes_from_dataset(cfg, run_dir: str):
    from dassl.data.datasets import build_dataset

    import datasets.readers  # noqa: F401  (registers the readers)
    try:
        dataset = build_dataset(cfg)
    except (LammError, OSError, AssertionError) as error:
        raise ConfigError(
            f"{run_dir} names no classes (neither its checkpoint nor results.json), and the dataset "
            f"{cfg.DATASET.NAME} could not be read from DATASET.ROOT {cfg.DATASET.ROOT} ({error}).") from error
    return list(dataset.classnames), getattr(dataset, "class_ids", None)


def _missing_checkpoint_message(run_dir: str, trainer: str, path: str, epoch=None) -> str:
    folder = osp.dirname(path)
    epochs = epochs_present(folder)
    if epoch is not None and epochs:
        return (f"{run_dir}: no {trainer} checkpoint {path} (--load-epoch); epochs present: "
                f"{', '.join(map(str, epochs))}.")
    evaluated = ((read_record(run_dir) or {}).get("checkpoint") or {}).get("run_dir")
    if evaluated:
        return (f"{run_dir} is an evaluation (--eval-only) of the run {evaluated}, and holds no checkpoint: "
                f"give that run instead.")
    return (f"{run_dir}: no {trainer} checkpoint in {folder}: the run saved none (an eval-only run saves "
            "none; a training run saves one after its first epoch), or its checkpoints were moved.")


def _read(path: str, run_dir: str) -> dict:
    """``read_checkpoint``, with advice for a reader of the run rather than for its training."""
    try:
        return read_checkpoint(path)
    except CheckpointNotFoundError:
        raise
    except CheckpointError as error:
        cause = error.__cause__
        reason = (str(cause).strip().splitlines() or [type(cause).__name__])[0].split(". ")[0] if cause else \
            "empty: 0 bytes"
        others = [e for e in epochs_present(osp.dirname(path)) if osp.basename(path) != f"model.pth.tar-{e}"]
        hint = f" Another epoch's checkpoint may be intact: --load-epoch {others[-1]}." if others else ""
        raise CheckpointError(f"{run_dir}: its checkpoint {path} cannot be read ({reason}): the file is truncated "
                              f"or corrupt; restore it from a copy or rerun the training.{hint}") from None


def _check_backbone_file(backbone: str, run_dir: str) -> None:
    """A run trained on a CLIP file (not a released name) needs that file, where it was."""
    looks_like_a_path = osp.isabs(backbone) or backbone.startswith(("~", ".")) or backbone.endswith((".pt", ".pth", ".bin"))
    if looks_like_a_path and not osp.isfile(osp.expanduser(backbone)):  # "ViT-B/16" is a name, not a path
        raise ConfigError(f"{run_dir} was trained on the CLIP file {backbone} (MODEL.BACKBONE.NAME in its config.yaml), "
                          "which is not there any more: put the file back at that path to use this run.")


class TrainedModel:
    """A run's classifier: normalised text features per class and an image encoder."""

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
                raise ConfigError(_missing_checkpoint_message(run_dir, self.trainer, path, epoch))
            checkpoint = _read(path, run_dir)
        self.checkpoint_path = path
        _check_backbone_file(self.backbone, run_dir)
        self.classnames, class_ids = self._classnames(checkpoint, run_dir)

        # The run's trainer class builds the model; a stand-in for the data manager gives the classes.
        stub = trainer_class.__new__(trainer_class)
        stub.cfg, stub.device = cfg, self.device
        stub.dm = SimpleNamespace(dataset=SimpleNamespace(classnames=self.classnames, class_ids=class_ids))
        with contextlib.redirect_stdout(sys.stderr):  # the build's progress lines stay off stdout
            if learns:
                clip_model = stub.load_clip_model()
                stub.model = trainer_class.model_class(clip_model, stub.build_prompt_learner(clip_model)).to(self.device)
                stub.load_model(run_dir, epoch)
                self.model, self.epoch = stub.model.eval(), stub.loaded_epoch
            else:
                stub.build_model()
                clip_model, self.model, self.epoch = stub.clip_model, None, None
                self._zero_shot_features = stub.text_features
        self.clip_model = clip_model.eval()
        self.dtype = clip_model.dtype
        # How far the run's training got: its latest checkpoint, whichever one is loaded.
        self.max_epoch = int(cfg.OPTIM.MAX_EPOCH) if learns else None
        if learns:
            self.epochs_trained = max(epochs_present(osp.dirname(path)) + [self.epoch or 0])
        else:
            self.epochs_trained = None

    @property
    def finished(self) -> bool:
        """The run trained all its planned epochs (a ZeroshotCLIP run trains none: finished)."""
        return not self.max_epoch or self.epochs_trained >= self.max_epoch

    def describe(self) -> dict:
        """Which model this is, for the commands' output: the run, trainer and how far it trained."""
        return {"run": osp.abspath(self.run_dir), "trainer": self.trainer, "epoch": self.epoch,
                "max_epoch": self.max_epoch, "epochs_trained": self.epochs_trained, "finished": self.finished}

    def unfinished_warning(self) -> Optional[str]:
        """One line for a run whose training stopped before OPTIM.MAX_EPOCH, else None."""
        if self.finished:
            return None
        return (f"warning: {self.run_dir} is an unfinished run: its training stopped at epoch {self.epochs_trained} "
                f"of {self.max_epoch} (OPTIM.MAX_EPOCH), so this uses the epoch-{self.epoch} checkpoint, not the "
                "final model. Rerun the run's train.py command to finish it (it resumes where it stopped).")

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
    def per_image_prompts(self) -> bool:
        """CoCoOp's prompts depend on each image (a Meta-Net shifts the context): no fixed classifier."""
        return getattr(self.model, "per_image_prompts", False)

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
        if self.per_image_prompts:  # each image's own text features: the model's forward
            return self.model(images.to(self.device))
        return self.clip_model.logits(self.encode_images(images), self.text_features())  # with any logit bias

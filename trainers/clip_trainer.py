"""What every CLIP trainer here shares: loading CLIP for the config, and the run's record."""
import os.path as osp
import resource
import sys
import time

import torch
from dassl.data import DataManager
from dassl.engine import TrainerX

from datasets.readers.image_check import CheckedDatasetWrapper

from lamm.backbones import check_input_size, load_backbone
from lamm.precision import resolve_precision
from lamm.preprocess import squash_test_transform
from trainers.record import Record, code_version, config_fingerprint, resolve_protocol

from .config import backbone_weights, config_dict


def reset_peak_memory(device) -> None:
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)


def host_peak_gb() -> float:
    """The process's peak resident memory so far, in GB (1e9 bytes); it cannot be reset."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux, bytes on macOS
    return peak * (1 if sys.platform == "darwin" else 1024) / 1e9


def peak_memory_gb(device) -> float:
    """Peak memory in GB: CUDA's allocated peak, or the process's peak RSS on the CPU."""
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 1e9
    return host_peak_gb()


class ClipTrainer(TrainerX):
    """A Dassl ``TrainerX`` on CLIP; ``options_node`` names the TRAINER node with PREC."""

    options_node = "COOP"
    learn_labels = False
    trains_nothing = False  # ZeroshotCLIP: an eval-only run of it is not "untrained prompts"
    # Set by train.py (``set_run_args``); these defaults serve trainers built in tests.
    run_args = {"eval_only": None, "model_dir": "", "overrides": []}

    def __init__(self, cfg):
        self._built = time.time()  # the record's wall time starts before data and CLIP are loaded
        self._train_images = 0
        super().__init__(cfg)

    @property
    def options(self):
        return self.cfg.TRAINER[self.options_node]

    def set_run_args(self, eval_only: bool, model_dir: str = "", overrides=()):
        """How train.py was called: recorded in results.json."""
        self.run_args = {"eval_only": bool(eval_only), "model_dir": model_dir or "", "overrides": list(overrides or [])}

    def build_data_loader(self):
        """Dassl's data manager, with loaders that name an unreadable image."""
        # An open_clip model whose weights squash images (SigLIP) gets its own test transform.
        dm = DataManager(self.cfg, custom_tfm_test=squash_test_transform(self.cfg), dataset_wrapper=CheckedDatasetWrapper)
        self.train_loader_x, self.train_loader_u = dm.train_loader_x, dm.train_loader_u
        self.val_loader, self.test_loader = dm.val_loader, dm.test_loader
        self.num_classes, self.num_source_domains = dm.num_classes, dm.num_source_domains
        self.lab2cname = dm.lab2cname
        self.dm = dm

    def load_clip_model(self):
        """The backbone (``lamm.backbones.Backbone``) for MODEL.BACKBONE.NAME and WEIGHTS in the
        configured precision (fp32 on the CPU)."""
        self.precision = resolve_precision(self.options.PREC, self.device)
        name, weights = self.cfg.MODEL.BACKBONE.NAME, backbone_weights(self.cfg)
        print(f"Loading CLIP (backbone: {name}" + (f", weights: {weights})" if weights else ")"))
        backbone = load_backbone(name, weights)
        check_input_size(backbone, self.cfg.INPUT.SIZE, name)
        self.backbone = backbone.to_precision(self.precision)
        return self.backbone

    def backbone_weights_record(self):
        """MODEL.BACKBONE.WEIGHTS as recorded: a tag or hf-hub id as given, a file by its name; None for OpenAI's CLIP."""
        weights = self.cfg.MODEL.BACKBONE.get("WEIGHTS", "")
        return (osp.basename(weights) if osp.isfile(weights) else weights) or None

    def parse_batch_train(self, batch):
        self._train_images += len(batch["label"])  # for the record's training images per second
        return batch["img"].to(self.device), batch["label"].to(self.device)

    def train_time_so_far(self) -> float:
        """Seconds spent training, over every resume of the run (checkpoints carry the sum)."""
        start = getattr(self, "_train_started", None)
        return getattr(self, "_train_time_before", 0.0) + (time.time() - start if start is not None else 0.0)

    def before_train(self):
        self._train_started = time.time()
        reset_peak_memory(self.device)
        super().before_train()

    def after_train(self):
        seconds = time.time() - self._train_started  # this process's training (a resume counts its own)
        self.train_stats = {"time_s": self.train_time_so_far(), "peak_memory_gb": peak_memory_gb(self.device),
                            "images_per_s": self._train_images / seconds if seconds > 0 else None}
        print("Finished training")  # the line MaPLe's and LAMM's parse_test_res.py wait for
        super().after_train()

    def test(self, split=None):
        is_test = (split or self.cfg.TEST.SPLIT) == "test"
        if is_test:
            reset_peak_memory(self.device)
        started = time.time()
        result = super().test(split)
        if is_test:
            self.write_results(result, test_stats={"time_s": time.time() - started,
                                                   "peak_memory_gb": peak_memory_gb(self.device)})
        return result

    def is_eval_only(self) -> bool:
        flag = self.run_args.get("eval_only")
        return flag if flag is not None else getattr(self, "loaded_epoch", None) is not None

    def is_untrained(self) -> bool:
        """An evaluation of the prompts as initialised: --eval-only without --model-dir."""
        return self.is_eval_only() and not self.run_args.get("model_dir") and not self.trains_nothing \
            and getattr(self, "loaded_epoch", None) is None

    def evaluated_epoch(self):
        """The epoch whose model was tested (the loaded checkpoint's in eval-only runs; 0 untrained)."""
        loaded = getattr(self, "loaded_epoch", None)
        if loaded is not None:
            return loaded
        return 0 if self.is_untrained() else self.epoch + 1

    def loss_weights(self) -> dict:
        """The loss terms in force and their weights ({"ce": 1.0} without the hierarchical loss)."""
        criterion = getattr(self, "criterion", None)
        return dict(criterion.weights) if criterion is not None else {"ce": 1.0}

    def label_record(self):
        if not self.learn_labels:
            return None
        return {"tokens": self.cfg.TRAINER.LAMM.LABEL_TOKENS, "init": self.cfg.TRAINER.LAMM.LABEL_INIT}

    def trainable_parameters(self) -> int:
        """Parameters the optimisers update: those of the registered models that need a gradient."""
        return sum(p.numel() for name in self.get_model_names() for p in self._models[name].parameters()
                   if p.requires_grad)

    def cost(self, train, test_stats) -> dict:
        """What the run cost, for the record (``trainers.record.COST_FIELDS``)."""
        gpu = [s["peak_memory_gb"] for s in (train, test_stats) if s and s["peak_memory_gb"] is not None]
        return {
            "wall_s": time.time() - self._built,
            "host_peak_gb": host_peak_gb(),
            "gpu_peak_gb": max(gpu) if gpu and self.device.type == "cuda" else None,
            "trainable_params": self.trainable_parameters(),
            "train_images_per_s": train.get("images_per_s") if train else None,
        }

    def write_results(self, accuracy, test_stats=None):
        cfg = self.cfg
        backbone = cfg.MODEL.BACKBONE.NAME
        eval_only = self.is_eval_only()
        train = getattr(self, "train_stats", None) if not eval_only else None
        test_stats = test_stats or {"time_s": None, "peak_memory_gb": None}
        run = cfg.RUN
        Record(
            accuracy=float(accuracy),
            split=cfg.TEST.SPLIT,
            method=cfg.TRAINER.NAME,
            dataset=cfg.DATASET.NAME,
            num_shots=cfg.DATASET.NUM_SHOTS,
            subsample_classes=cfg.DATASET.SUBSAMPLE_CLASSES,
            seed=cfg.SEED,
            backbone=osp.basename(backbone) if osp.isfile(backbone) else backbone,
            backbone_weights=self.backbone_weights_record(),
            shortcuts_off=list(getattr(self, "shortcuts_off", [])),  # not exact on this backbone
            epoch=self.evaluated_epoch(),
            eval_only=eval_only,
            num_classes=self.num_classes,
            num_test=len(self.dm.dataset.test),
            protocol=resolve_protocol(cfg),
            variant=run.VARIANT,
            stage=run.STAGE or None,
            eval_set=run.EVAL_SET or None,
            source_dataset=run.SOURCE_DATASET or None,
            train_classes=cfg.DATASET.TRAIN_CLASSES,
            preset=cfg.TRAINER.LAMM.get("PRESET", "") or "default",
            untrained=self.is_untrained(),
            loss=self.loss_weights(),
            labels=self.label_record(),
            checkpoint=getattr(self, "loaded_checkpoint", None) if eval_only else None,
            config_fingerprint=config_fingerprint(config_dict(cfg)),
            overrides=list(self.run_args.get("overrides") or []),
            code_version=code_version(),
            time_s={"train": train["time_s"] if train else None, "test": test_stats["time_s"]},
            peak_memory_gb={"train": train["peak_memory_gb"] if train else None,
                            "test": test_stats["peak_memory_gb"], "device": self.device.type},
            cost=self.cost(train, test_stats),
            classnames=list(self.dm.dataset.classnames),
        ).write(self.output_dir)

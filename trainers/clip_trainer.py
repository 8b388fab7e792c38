"""What every CLIP trainer here shares: loading CLIP for the config, and the run's files.

Each run folder gets ``results.json`` after every test on the test split (accuracy plus what
the run was), which ``parse_test_res.py`` reads before falling back to ``log.txt``.
"""
import os.path as osp

from dassl.data import DataManager
from dassl.engine import TrainerX

from datasets.image_check import CheckedDatasetWrapper

from lamm.clip_loader import check_input_size, load_clip
from lamm.files import atomic_write_json
from lamm.precision import check_precision, resolve_precision

RESULTS_FILE = "results.json"


class ClipTrainer(TrainerX):
    """A Dassl ``TrainerX`` on CLIP; ``options_node`` names the TRAINER node with PREC."""

    options_node = "COOP"

    @property
    def options(self):
        return self.cfg.TRAINER[self.options_node]

    def check_cfg(self, cfg):
        check_precision(cfg.TRAINER[self.options_node].PREC)

    def build_data_loader(self):
        """Dassl's data manager, with loaders that name an unreadable image."""
        dm = DataManager(self.cfg, dataset_wrapper=CheckedDatasetWrapper)
        self.train_loader_x, self.train_loader_u = dm.train_loader_x, dm.train_loader_u
        self.val_loader, self.test_loader = dm.val_loader, dm.test_loader
        self.num_classes, self.num_source_domains = dm.num_classes, dm.num_source_domains
        self.lab2cname = dm.lab2cname
        self.dm = dm

    def load_clip_model(self):
        """CLIP for MODEL.BACKBONE.NAME in the configured precision (fp32 on the CPU)."""
        self.precision = resolve_precision(self.options.PREC, self.device)
        backbone = self.cfg.MODEL.BACKBONE.NAME
        print(f"Loading CLIP (backbone: {backbone})")
        clip_model = load_clip(backbone)
        check_input_size(clip_model, self.cfg.INPUT.SIZE, backbone)
        if self.precision != "fp16":
            clip_model.float()
        return clip_model

    def parse_batch_train(self, batch):
        return batch["img"].to(self.device), batch["label"].to(self.device)

    def after_train(self):
        print("Finished training")  # the line MaPLe's and LAMM's parse_test_res.py wait for
        super().after_train()

    def test(self, split=None):
        result = super().test(split)
        if (split or self.cfg.TEST.SPLIT) == "test":
            self.write_results(result)
        return result

    def evaluated_epoch(self):
        """The epoch whose model was tested (the loaded checkpoint's in eval-only runs)."""
        loaded = getattr(self, "loaded_epoch", None)
        return loaded if loaded is not None else self.epoch + 1

    def write_results(self, accuracy):
        cfg = self.cfg
        backbone = cfg.MODEL.BACKBONE.NAME
        atomic_write_json(osp.join(self.output_dir, RESULTS_FILE), {
            "accuracy": float(accuracy),
            "split": cfg.TEST.SPLIT,
            "trainer": cfg.TRAINER.NAME,
            "dataset": cfg.DATASET.NAME,
            "num_shots": cfg.DATASET.NUM_SHOTS,
            "subsample_classes": cfg.DATASET.SUBSAMPLE_CLASSES,
            "seed": cfg.SEED,
            "backbone": osp.basename(backbone) if osp.isfile(backbone) else backbone,
            "epoch": self.evaluated_epoch(),
            "eval_only": getattr(self, "loaded_epoch", None) is not None,
            "num_classes": self.num_classes,
            "num_test": len(self.dm.dataset.test),
        })

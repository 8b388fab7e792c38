"""TrainerBase, SimpleTrainer and TrainerX (Dassl 0.6.3 lifecycle)."""
import datetime
import os.path as osp
import time
from collections import OrderedDict

import numpy as np
import torch
from tqdm import tqdm

from dassl.data import DataManager
from dassl.evaluation import build_evaluator
from dassl.utils import (
    AverageMeter, MetricMeter, load_checkpoint, mkdir_if_missing,
    resume_from_checkpoint, save_checkpoint, tolist_if_not
)


class _NullWriter:
    """Stands in for SummaryWriter when tensorboard is not installed."""

    def __init__(self, log_dir=None, **kwargs):
        self.log_dir = log_dir

    def add_scalar(self, tag, scalar_value, global_step=None, *args, **kw):
        pass

    def flush(self):
        pass

    def close(self):
        pass


def _make_summary_writer(log_dir):
    try:
        import tensorboard  # noqa: F401
    except ImportError:
        return _NullWriter(log_dir=log_dir)
    from torch.utils.tensorboard import SummaryWriter

    return SummaryWriter(log_dir=log_dir)


class TrainerBase:
    """Registry of (model, optimizer, scheduler) triples plus the generic
    epoch loop ``before_train -> [before_epoch, run_epoch, after_epoch]* ->
    after_train``."""

    def __init__(self):
        self._models = OrderedDict()
        self._optims = OrderedDict()
        self._scheds = OrderedDict()
        self._writer = None

    # ------------------------------------------------------------ models
    def register_model(self, name="model", model=None, optim=None, sched=None):
        for attr, what in (("_models", "model"), ("_optims", "optim"),
                           ("_scheds", "sched")):
            if self.__dict__.get(attr) is None:
                raise AttributeError(
                    f"Cannot assign {what} before super().__init__() call"
                )
        assert name not in self._models, "Found duplicate model names"
        self._models[name] = model
        self._optims[name] = optim
        self._scheds[name] = sched

    def get_model_names(self, names=None):
        registered = list(self._models.keys())
        if names is None:
            return registered
        names = tolist_if_not(names)
        for name in names:
            assert name in registered
        return names

    def save_model(
        self, epoch, directory, is_best=False, val_result=None, model_name=""
    ):
        for name in self.get_model_names():
            optim, sched = self._optims[name], self._scheds[name]
            state = {
                "state_dict": self._models[name].state_dict(),
                "epoch": epoch + 1,
                "optimizer": None if optim is None else optim.state_dict(),
                "scheduler": None if sched is None else sched.state_dict(),
                "val_result": val_result,
            }
            save_checkpoint(
                state, osp.join(directory, name), is_best=is_best,
                model_name=model_name
            )

    def resume_model_if_exist(self, directory):
        """Resume every registered model from ``directory/<name>``.

        Returns the stored epoch, or 0 if any model folder is missing.
        """
        names = self.get_model_names()
        if any(not osp.exists(osp.join(directory, n)) for n in names):
            print("No checkpoint found, train from scratch")
            return 0

        print(f"Found checkpoint at {directory} (will resume training)")
        for name in names:
            start_epoch = resume_from_checkpoint(
                osp.join(directory, name), self._models[name],
                self._optims[name], self._scheds[name]
            )
        return start_epoch

    def load_model(self, directory, epoch=None):
        """Load ``model-best.pth.tar`` (or ``model.pth.tar-<epoch>``) into
        every registered model, strictly. The message formats val_result
        with ``.1f``, so a checkpoint saved without one raises TypeError."""
        if not directory:
            print(
                "Note that load_model() is skipped as no pretrained model is "
                "given (ignore this if it's done on purpose)"
            )
            return

        fname = "model-best.pth.tar" if epoch is None else f"model.pth.tar-{epoch}"
        for name in self.get_model_names():
            model_path = osp.join(directory, name, fname)
            if not osp.exists(model_path):
                raise FileNotFoundError(f"No model at {model_path}")
            ckpt = load_checkpoint(model_path)
            epoch = ckpt["epoch"]
            val_result = ckpt["val_result"]
            print(
                f"Load {model_path} to {name} (epoch={epoch}, "
                f"val_result={val_result:.1f})"
            )
            self._models[name].load_state_dict(ckpt["state_dict"])

    def set_model_mode(self, mode="train", names=None):
        for name in self.get_model_names(names):
            if mode == "train":
                self._models[name].train()
            elif mode in ("test", "eval"):
                self._models[name].eval()
            else:
                raise KeyError

    def update_lr(self, names=None):
        for name in self.get_model_names(names):
            if self._scheds[name] is not None:
                self._scheds[name].step()

    def detect_anomaly(self, loss):
        if not torch.isfinite(loss).all():
            raise FloatingPointError("Loss is infinite or NaN!")

    # ------------------------------------------------------------ writer
    def init_writer(self, log_dir):
        if self.__dict__.get("_writer") is None or self._writer is None:
            print(f"Initialize tensorboard (log_dir={log_dir})")
            self._writer = _make_summary_writer(log_dir)

    def close_writer(self):
        if self._writer is not None:
            self._writer.close()

    def write_scalar(self, tag, scalar_value, global_step=None):
        # silently ignored until init_writer() ran (e.g. eval-only runs)
        if self._writer is not None:
            self._writer.add_scalar(tag, scalar_value, global_step)

    # ------------------------------------------------------------ loop
    def train(self, start_epoch, max_epoch):
        self.start_epoch = start_epoch
        self.max_epoch = max_epoch
        self.before_train()
        for self.epoch in range(self.start_epoch, self.max_epoch):
            self.before_epoch()
            self.run_epoch()
            self.after_epoch()
        self.after_train()

    def before_train(self):
        pass

    def after_train(self):
        pass

    def before_epoch(self):
        pass

    def after_epoch(self):
        pass

    def run_epoch(self):
        raise NotImplementedError

    def test(self):
        raise NotImplementedError

    def parse_batch_train(self, batch):
        raise NotImplementedError

    def parse_batch_test(self, batch):
        raise NotImplementedError

    def forward_backward(self, batch):
        raise NotImplementedError

    def model_inference(self, input):
        raise NotImplementedError

    # ------------------------------------------------------------ steps
    def model_zero_grad(self, names=None):
        for name in self.get_model_names(names):
            if self._optims[name] is not None:
                self._optims[name].zero_grad()

    def model_backward(self, loss):
        self.detect_anomaly(loss)
        loss.backward()

    def model_update(self, names=None):
        for name in self.get_model_names(names):
            if self._optims[name] is not None:
                self._optims[name].step()

    def model_backward_and_update(self, loss, names=None):
        self.model_zero_grad(names)
        self.model_backward(loss)
        self.model_update(names)


class SimpleTrainer(TrainerBase):
    """Generic trainer: data, evaluator, checkpoints, final test."""

    def __init__(self, cfg):
        super().__init__()
        self.check_cfg(cfg)  # runs before self.cfg exists

        use_cuda = torch.cuda.is_available() and cfg.USE_CUDA
        self.device = torch.device("cuda" if use_cuda else "cpu")

        self.start_epoch = self.epoch = 0
        self.max_epoch = cfg.OPTIM.MAX_EPOCH
        self.output_dir = cfg.OUTPUT_DIR
        self.cfg = cfg

        self.build_data_loader()
        self.build_model()
        self.evaluator = build_evaluator(cfg, lab2cname=self.lab2cname)
        self.best_result = -np.inf

    def check_cfg(self, cfg):
        """Hook for trainers to validate the config (default: no check)."""
        pass

    def build_data_loader(self):
        dm = DataManager(self.cfg)
        self.train_loader_x = dm.train_loader_x
        self.train_loader_u = dm.train_loader_u
        self.val_loader = dm.val_loader
        self.test_loader = dm.test_loader
        self.num_classes = dm.num_classes
        self.num_source_domains = dm.num_source_domains
        self.lab2cname = dm.lab2cname
        self.dm = dm

    def build_model(self):
        # Dassl builds a SimpleNet (backbone + head) here; dassl.modeling is
        # not part of the double, so trainers must override build_model().
        print("Building model")
        raise NotImplementedError(
            "SimpleNet / dassl.modeling is not provided by the Dassl test "
            "double; override build_model()"
        )

    def train(self):
        super().train(self.start_epoch, self.max_epoch)

    def before_train(self):
        directory = self.cfg.RESUME or self.cfg.OUTPUT_DIR
        self.start_epoch = self.resume_model_if_exist(directory)

        writer_dir = osp.join(self.output_dir, "tensorboard")
        mkdir_if_missing(writer_dir)
        self.init_writer(writer_dir)

        self.time_start = time.time()

    def after_train(self):
        print("Finish training")

        if not self.cfg.TEST.NO_TEST:
            if self.cfg.TEST.FINAL_MODEL == "best_val":
                print("Deploy the model with the best val performance")
                self.load_model(self.output_dir)
            else:
                print("Deploy the last-epoch model")
            self.test()

        elapsed = datetime.timedelta(seconds=round(time.time() - self.time_start))
        print(f"Elapsed: {elapsed}")

        self.close_writer()

    def after_epoch(self):
        freq = self.cfg.TRAIN.CHECKPOINT_FREQ
        done = self.epoch + 1
        last_epoch = done == self.max_epoch
        on_freq = freq > 0 and done % freq == 0

        if not self.cfg.TEST.NO_TEST and self.cfg.TEST.FINAL_MODEL == "best_val":
            curr_result = self.test(split="val")
            if curr_result > self.best_result:
                self.best_result = curr_result
                self.save_model(
                    self.epoch, self.output_dir, val_result=curr_result,
                    model_name="model-best.pth.tar"
                )

        if on_freq or last_epoch:
            self.save_model(self.epoch, self.output_dir)

    @torch.no_grad()
    def test(self, split=None):
        """Evaluate on ``split`` (default TEST.SPLIT); the val split falls
        back to test when there is no val loader. Returns the first metric
        (accuracy)."""
        self.set_model_mode("eval")
        self.evaluator.reset()

        if split is None:
            split = self.cfg.TEST.SPLIT
        if split == "val" and self.val_loader is not None:
            loader = self.val_loader
        else:
            split = "test"
            loader = self.test_loader

        print(f"Evaluate on the *{split}* set")
        for batch_idx, batch in enumerate(tqdm(loader)):
            input, label = self.parse_batch_test(batch)
            self.evaluator.process(self.model_inference(input), label)

        results = self.evaluator.evaluate()
        for key, value in results.items():
            self.write_scalar(f"{split}/{key}", value, self.epoch)
        return list(results.values())[0]

    def model_inference(self, input):
        return self.model(input)

    def parse_batch_test(self, batch):
        return batch["img"].to(self.device), batch["label"].to(self.device)

    def get_current_lr(self, names=None):
        first = self.get_model_names(names)[0]
        return self._optims[first].param_groups[0]["lr"]


class TrainerX(SimpleTrainer):
    """Trainer on labelled data only (train_loader_x)."""

    def run_epoch(self):
        self.set_model_mode("train")
        losses = MetricMeter()
        batch_time = AverageMeter()
        data_time = AverageMeter()
        self.num_batches = len(self.train_loader_x)
        print_freq = self.cfg.TRAIN.PRINT_FREQ

        end = time.time()
        for self.batch_idx, batch in enumerate(self.train_loader_x):
            data_time.update(time.time() - end)
            loss_summary = self.forward_backward(batch)
            batch_time.update(time.time() - end)
            losses.update(loss_summary)

            if ((self.batch_idx + 1) % print_freq == 0
                    or self.num_batches < print_freq):
                batches_left = (
                    self.num_batches - self.batch_idx - 1
                    + (self.max_epoch - self.epoch - 1) * self.num_batches
                )
                eta = datetime.timedelta(
                    seconds=int(batch_time.avg * batches_left)
                )
                print(
                    f"epoch [{self.epoch + 1}/{self.max_epoch}] "
                    f"batch [{self.batch_idx + 1}/{self.num_batches}] "
                    f"time {batch_time.val:.3f} ({batch_time.avg:.3f}) "
                    f"data {data_time.val:.3f} ({data_time.avg:.3f}) "
                    f"{losses} "
                    f"lr {self.get_current_lr():.4e} "
                    f"eta {eta}"
                )

            n_iter = self.epoch * self.num_batches + self.batch_idx
            for name, meter in losses.meters.items():
                self.write_scalar("train/" + name, meter.avg, n_iter)
            self.write_scalar("train/lr", self.get_current_lr(), n_iter)

            end = time.time()

    def parse_batch_train(self, batch):
        return (
            batch["img"].to(self.device),
            batch["label"].to(self.device),
            batch["domain"].to(self.device),
        )

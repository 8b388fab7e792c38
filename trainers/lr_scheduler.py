"""Dassl's learning-rate schedules, rebuilt on ``LambdaLR`` so that they run on current PyTorch."""
import bisect
import math

from torch.optim.lr_scheduler import LambdaLR

from lamm.errors import ConfigError

SCHEDULERS = ("single_step", "multi_step", "cosine")
WARMUP_TYPES = ("constant", "linear")


def main_schedule_factor(optim_cfg):
    """Return ``f(epoch) -> LR / base LR`` for the schedule after warmup."""
    name, max_epoch, gamma = optim_cfg.LR_SCHEDULER, optim_cfg.MAX_EPOCH, optim_cfg.GAMMA
    stepsize = optim_cfg.STEPSIZE
    if name == "cosine":
        return lambda epoch: 0.5 * (1 + math.cos(math.pi * epoch / max_epoch))
    if name == "single_step":
        step = stepsize[-1] if isinstance(stepsize, (list, tuple)) else stepsize
        step = step if step > 0 else max_epoch
        return lambda epoch: gamma ** (epoch // step)
    if name == "multi_step":
        milestones = sorted(stepsize)
        return lambda epoch: gamma ** bisect.bisect_right(milestones, epoch)
    raise ConfigError(f"OPTIM.LR_SCHEDULER must be one of {', '.join(SCHEDULERS)}, got {name!r}.")


def lr_factor(optim_cfg):
    """Return ``f(epoch) -> LR / base LR`` including the warmup, as Dassl produces it."""
    main = main_schedule_factor(optim_cfg)
    warmup = optim_cfg.WARMUP_EPOCH
    if warmup <= 0:
        return main
    if optim_cfg.WARMUP_TYPE not in WARMUP_TYPES:
        raise ConfigError(f"OPTIM.WARMUP_TYPE must be one of {', '.join(WARMUP_TYPES)}, got {optim_cfg.WARMUP_TYPE!r}.")
    base_lr = optim_cfg.LR
    offset = warmup if optim_cfg.WARMUP_RECOUNT else 0

    def factor(epoch):
        if epoch >= warmup:
            return main(epoch - offset)
        if optim_cfg.WARMUP_TYPE == "constant":
            return optim_cfg.WARMUP_CONS_LR / base_lr
        return optim_cfg.WARMUP_MIN_LR / base_lr if epoch == 0 else epoch / warmup

    return factor


def build_lr_scheduler(optimizer, optim_cfg) -> LambdaLR:
    """The scheduler for ``optimizer``; step it once per epoch, after the epoch's last batch."""
    return LambdaLR(optimizer, lr_factor(optim_cfg))

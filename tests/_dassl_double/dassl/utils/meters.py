"""Running averages of scalars."""
from collections import defaultdict

import torch

__all__ = ["AverageMeter", "MetricMeter"]


class AverageMeter:
    """Latest value and (plain or exponential moving) average."""

    def __init__(self, ema=False):
        self.ema = ema
        self.reset()

    def reset(self):
        self.val = 0
        self.avg = 0
        self.sum = 0
        self.count = 0

    def update(self, val, n=1):
        if isinstance(val, torch.Tensor):
            val = val.item()
        self.val = val
        self.sum += val * n
        self.count += n
        if self.ema:
            self.avg = 0.9 * self.avg + 0.1 * val
        else:
            self.avg = self.sum / self.count


class MetricMeter:
    """A named group of AverageMeters fed with dicts.

    ``str()`` gives ``name val (avg)`` entries (4 decimals) joined by the
    delimiter, in first-seen order.
    """

    def __init__(self, delimiter=" "):
        self.meters = defaultdict(AverageMeter)
        self.delimiter = delimiter

    def update(self, input_dict):
        if input_dict is None:
            return
        if not isinstance(input_dict, dict):
            raise TypeError(
                "Input to MetricMeter.update() must be a dictionary"
            )
        for name, value in input_dict.items():
            if isinstance(value, torch.Tensor):
                value = value.item()
            self.meters[name].update(value)

    def __str__(self):
        return self.delimiter.join(
            f"{name} {m.val:.4f} ({m.avg:.4f})"
            for name, m in self.meters.items()
        )

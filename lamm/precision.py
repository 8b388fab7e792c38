"""One switch for numeric precision: ``fp16``, ``fp32`` or ``amp`` (CoOp's ``TRAINER.*.PREC``).

- ``fp16``: CLIP keeps the half-precision weights it was released with (CoOp's default).
- ``fp32``: CLIP is cast to float32.
- ``amp``: CLIP is cast to float32 and the forward pass runs under autocast with a grad scaler.

Learnable tensors (context, label embeddings) are always float32 here, unlike the official
code, which trains them in fp16 without loss scaling; they are cast to CLIP's dtype only
when the prompt is composed.
"""
import contextlib
import warnings

import torch

from .errors import ConfigError

PRECISIONS = ("fp16", "fp32", "amp")


def check_precision(precision: str) -> None:
    if precision not in PRECISIONS:
        raise ConfigError(
            f"Unknown precision {precision!r}; choose one of {', '.join(PRECISIONS)} "
            "(e.g. TRAINER.COOP.PREC fp32)."
        )


def resolve_precision(precision: str, device: torch.device) -> str:
    """Return the precision actually used on ``device``.

    Half-precision CLIP on the CPU is unsupported or very slow in PyTorch, so ``fp16`` and
    ``amp`` fall back to ``fp32`` there, with a warning.
    """
    check_precision(precision)
    if device.type == "cpu" and precision != "fp32":
        warnings.warn(f"Precision {precision} is not supported on the CPU; using fp32 instead.")
        return "fp32"
    return precision


def model_dtype(precision: str) -> torch.dtype:
    return torch.float16 if precision == "fp16" else torch.float32


def autocast(precision: str, device: torch.device):
    """The context the forward pass runs in: autocast for ``amp``, nothing otherwise."""
    if precision == "amp":
        return torch.autocast(device_type=device.type)
    return contextlib.nullcontext()

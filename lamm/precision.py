"""One switch for numeric precision: ``fp16``, ``fp32`` or ``amp`` (CoOp's ``TRAINER.*.PREC``).

- ``fp16``: CLIP keeps the half-precision weights it was released with (CoOp's default).
- ``fp32``: CLIP is cast to float32.
- ``amp``: CLIP is cast to float32 and the forward pass runs under autocast with a grad scaler.

Learnable tensors (context, label embeddings) are always float32 here, unlike the official
code, which trains them in fp16 without loss scaling; they are cast to CLIP's dtype only
when the prompt is composed.
"""
import contextlib

from .errors import ConfigError

PRECISIONS = ("fp16", "fp32", "amp")


def check_precision(precision: str) -> None:
    if precision not in PRECISIONS:
        raise ConfigError(
            f"Unknown precision {precision!r}; choose one of {', '.join(PRECISIONS)} "
            "(e.g. TRAINER.COOP.PREC fp32)."
        )


def resolve_precision(precision: str, device) -> str:
    """Return the precision actually used on ``device`` (a torch.device or its type, "cpu", "cuda").

    Half-precision CLIP on the CPU is unsupported or very slow in PyTorch, so ``fp16`` and
    ``amp`` fall back to ``fp32`` there. Not a warning: the user has nothing to change (the
    shipped configs say fp16 for the GPU); train.py's run block states the precision in force.
    """
    check_precision(precision)
    if getattr(device, "type", device) == "cpu" and precision != "fp32":
        return "fp32"
    return precision


def describe_precision(precision: str, device) -> str:
    """The precision in force on ``device``, and why when it is not the configured one."""
    used = resolve_precision(precision, device)
    return used if used == precision else f"{used} ({precision} is for the GPU; the CPU runs {used})"


def model_dtype(precision: str):
    import torch

    return torch.float16 if precision == "fp16" else torch.float32


def autocast(precision: str, device):
    """The context the forward pass runs in: autocast for ``amp``, nothing otherwise."""
    if precision == "amp":
        import torch

        return torch.autocast(device_type=device.type)
    return contextlib.nullcontext()

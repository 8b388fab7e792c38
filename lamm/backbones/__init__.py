"""The vision-language backbones prompt learning runs on, behind one interface (``base.Backbone``).

``load_backbone(MODEL.BACKBONE.NAME, MODEL.BACKBONE.WEIGHTS)``: an OpenAI CLIP name or file
(``lamm.clip_loader``), or ``open_clip:<arch>`` with its weights (``lamm.backbones.open_clip``).
docs/BACKBONES.md lists the supported families.
"""
from .base import POOLINGS, Backbone, Tokenizer, as_backbone

OPEN_CLIP_PREFIX = "open_clip:"


def is_open_clip(name: str) -> bool:
    return name.startswith(OPEN_CLIP_PREFIX)


def load_backbone(name: str, weights: str = "") -> Backbone:
    """The backbone MODEL.BACKBONE.NAME names, on the CPU in eval mode.

    OpenAI's models come in OpenAI's fp16 (``Backbone.to_precision`` casts), open_clip's in fp32.
    """
    from ..errors import ConfigError

    if is_open_clip(name):
        from .open_clip import load_open_clip

        return load_open_clip(name, weights)
    if weights:
        raise ConfigError(f"MODEL.BACKBONE.WEIGHTS {weights!r} is for open_clip models (MODEL.BACKBONE.NAME "
                          f"open_clip:<arch>); an OpenAI CLIP's weights are MODEL.BACKBONE.NAME itself "
                          f"(a name or a file): drop MODEL.BACKBONE.WEIGHTS.")
    from ..clip_loader import load_clip
    from .openai import describe_openai_clip

    return describe_openai_clip(load_clip(name), name=name)


__all__ = ["POOLINGS", "Backbone", "Tokenizer", "as_backbone", "load_backbone", "is_open_clip", "OPEN_CLIP_PREFIX"]

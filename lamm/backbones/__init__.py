"""The vision-language backbones prompt learning runs on, behind one interface (``base.Backbone``).

``load_backbone(MODEL.BACKBONE.NAME, MODEL.BACKBONE.WEIGHTS)``: an OpenAI CLIP name or file
(``lamm.clip_loader``), or ``open_clip:<arch>`` with its weights (``lamm.backbones.open_clip``).
docs/BACKBONES.md lists the supported families. The loaders are imported when needed: the
clip and open_clip packages are slow to import.
"""
from ..errors import ConfigError
from .base import POOLINGS, Backbone, Tokenizer

OPEN_CLIP_PREFIX = "open_clip:"


def is_open_clip(name: str) -> bool:
    return name.startswith(OPEN_CLIP_PREFIX)


def as_backbone(model) -> Backbone:
    """A ``Backbone`` for a backbone, an OpenAI ``clip`` model or an open_clip model."""
    if isinstance(model, Backbone):
        return model
    if type(model).__module__.startswith("open_clip"):
        from .open_clip import describe_open_clip

        return describe_open_clip(model)
    from .openai import describe_openai_clip

    return describe_openai_clip(model)


def ensure_backbone(name: str) -> str:
    """Check MODEL.BACKBONE.NAME before a run: an OpenAI CLIP's local file (downloaded if needed),
    or an open_clip name whose architecture exists (its weights are fetched when loading)."""
    if is_open_clip(name):
        from .open_clip import read_architecture

        read_architecture(name[len(OPEN_CLIP_PREFIX):])
        return name
    from ..clip_loader import ensure_backbone as ensure_openai_file

    return ensure_openai_file(name)


def load_backbone(name: str, weights: str = "") -> Backbone:
    """The backbone MODEL.BACKBONE.NAME names, on the CPU in eval mode.

    OpenAI's models come in OpenAI's fp16 (``Backbone.to_precision`` casts), open_clip's in fp32.
    """
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


def check_input_size(model, input_size, backbone: str) -> None:
    """CoOp asserts INPUT.SIZE equals the image encoder's resolution; say how to fix it.
    ``model``: an OpenAI CLIP or any ``Backbone``."""
    height, resolution = as_backbone(model).preprocess["size"]
    if tuple(input_size) != (height, resolution):
        raise ConfigError(
            f"INPUT.SIZE {tuple(input_size)} does not match the input resolution of {backbone} "
            f"({resolution}); set INPUT.SIZE \"({resolution}, {resolution})\"."
        )


__all__ = ["POOLINGS", "Backbone", "Tokenizer", "as_backbone", "check_input_size", "ensure_backbone",
           "load_backbone", "is_open_clip", "OPEN_CLIP_PREFIX"]

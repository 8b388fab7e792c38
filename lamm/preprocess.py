"""The test-time image preprocessing of a run, as plain data and as a transform.

Dassl's test transform (``build_transform(cfg, is_train=False)``) is deterministic: resize the
shorter edge to ``max(INPUT.SIZE)`` with ``INPUT.INTERPOLATION``, center-crop to ``INPUT.SIZE``,
scale to [0, 1] and, when ``normalize`` is in ``INPUT.TRANSFORMS``, normalise with
``INPUT.PIXEL_MEAN``/``PIXEL_STD``. Written down as a dict it travels in an exported classifier's
JSON, so that plain torchvision reproduces it (``tests/test_predict.py`` checks the equality with
Dassl's transform).

An open_clip backbone brings its own preprocessing (``apply_model_preprocessing``): its size,
mean, std and interpolation replace the shipped configs' OpenAI values, and weights that squash
images to the input size (SigLIP) get that test transform instead of Dassl's crop.
"""
from typing import Optional

from PIL import Image

from .errors import ConfigError

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".ppm", ".pgm")


INPUT_KEYS = (("size", "SIZE"), ("mean", "PIXEL_MEAN"), ("std", "PIXEL_STD"), ("interpolation", "INTERPOLATION"))


def _agrees(given, wanted) -> bool:
    if isinstance(wanted, str):
        return given == wanted
    return len(given) == len(wanted) and all(abs(float(a) - float(b)) <= 1e-6 for a, b in zip(given, wanted))


def _shown(value) -> str:
    return value if isinstance(value, str) else f"\"({', '.join(f'{float(v):g}' for v in value)})\""


def apply_model_preprocessing(cfg, overrides=()):
    """For an open_clip backbone, set ``INPUT.SIZE``, ``PIXEL_MEAN``, ``PIXEL_STD`` and
    ``INTERPOLATION`` (``cfg`` not frozen) to the model's preprocessing, over the OpenAI values of
    the shipped config files; a value given on the command line (``overrides``, KEY VALUE pairs)
    that contradicts the model is an error naming the model's value. Returns the model's
    preprocessing (None for OpenAI's CLIP, whose values the shipped configs hold)."""
    name = cfg.MODEL.BACKBONE.NAME
    if not name.startswith("open_clip:"):
        return None
    from .backbones.open_clip import model_preprocessing

    model = model_preprocessing(name, cfg.MODEL.BACKBONE.get("WEIGHTS", ""))
    explicit = set(overrides[0::2]) if overrides else set()
    for key, node_key in INPUT_KEYS:
        wanted, given = model[key], getattr(cfg.INPUT, node_key)
        if f"INPUT.{node_key}" in explicit and not _agrees(given, wanted):
            raise ConfigError(f"INPUT.{node_key} {_shown(given)} contradicts the preprocessing of {name} "
                              f"({_shown(wanted)}); drop INPUT.{node_key} or set INPUT.{node_key} {_shown(wanted)}.")
        setattr(cfg.INPUT, node_key, wanted if isinstance(wanted, str) else
                tuple(int(v) for v in wanted) if key == "size" else tuple(float(v) for v in wanted))
    return model


def resize_mode(cfg) -> str:
    """How the backbone's weights resize a test image: ``shortest`` (edge, then a center crop:
    Dassl's test transform and OpenAI's) or ``squash`` (to the input size, aspect not kept: SigLIP)."""
    name = cfg.MODEL.BACKBONE.NAME
    if not name.startswith("open_clip:"):
        return "shortest"
    from .backbones.open_clip import model_preprocessing

    return model_preprocessing(name, cfg.MODEL.BACKBONE.get("WEIGHTS", ""))["resize_mode"]


def squash_test_transform(cfg):
    """The test transform of a backbone whose weights squash images (SigLIP), else None (Dassl's)."""
    if resize_mode(cfg) != "squash":
        return None
    return build_test_transform(test_preprocessing(cfg.INPUT, "squash"))


def test_preprocessing(input_cfg, resize: str = "shortest") -> dict:
    """The run's test transform from its ``INPUT`` config node, as JSON-ready data; ``resize``:
    the backbone's resize mode (``resize_mode``)."""
    if input_cfg.NO_TRANSFORM:
        raise ConfigError("INPUT.NO_TRANSFORM is set: the run fed untransformed images, which a model cannot take.")
    if "instance_norm" in input_cfg.TRANSFORMS:
        raise ConfigError("INPUT.TRANSFORMS has instance_norm, which prediction and export do not support.")
    normalize = "normalize" in input_cfg.TRANSFORMS
    if resize not in ("shortest", "squash"):
        raise ConfigError(f"The backbone's resize mode {resize!r} is not supported (shortest or squash).")
    return {
        "resize_mode": resize,
        "resize_shorter_edge": int(max(input_cfg.SIZE)),
        "center_crop": [int(v) for v in input_cfg.SIZE],  # (height, width)
        "interpolation": input_cfg.INTERPOLATION,
        "mean": [float(v) for v in input_cfg.PIXEL_MEAN] if normalize else None,
        "std": [float(v) for v in input_cfg.PIXEL_STD] if normalize else None,
    }


def build_test_transform(preprocessing: dict):
    """A torchvision transform: PIL image -> (3, H, W) float tensor."""
    from torchvision import transforms as T

    modes = {"bilinear": T.InterpolationMode.BILINEAR, "bicubic": T.InterpolationMode.BICUBIC,
             "nearest": T.InterpolationMode.NEAREST}
    interpolation = modes[preprocessing["interpolation"]]
    if preprocessing.get("resize_mode", "shortest") == "squash":  # to the input size, no crop (SigLIP)
        steps = [T.Resize(list(preprocessing["center_crop"]), interpolation=interpolation), T.ToTensor()]
    else:
        steps = [T.Resize(preprocessing["resize_shorter_edge"], interpolation=interpolation),
                 T.CenterCrop(preprocessing["center_crop"]), T.ToTensor()]
    if preprocessing["mean"] is not None:
        steps.append(T.Normalize(preprocessing["mean"], preprocessing["std"]))
    return T.Compose(steps)


def read_image(path: str) -> Optional[Image.Image]:
    """The image as RGB (as Dassl reads it), or None when it cannot be read."""
    try:
        with Image.open(path) as image:
            return image.convert("RGB")
    except (OSError, ValueError, SyntaxError):  # what PIL raises for missing, truncated or non-image files
        return None

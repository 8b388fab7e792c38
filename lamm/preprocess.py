"""The test-time image preprocessing of a run, as plain data and as a transform.

Dassl's test transform (``build_transform(cfg, is_train=False)``) is deterministic: resize the
shorter edge to ``max(INPUT.SIZE)`` with ``INPUT.INTERPOLATION``, center-crop to ``INPUT.SIZE``,
scale to [0, 1] and, when ``normalize`` is in ``INPUT.TRANSFORMS``, normalise with
``INPUT.PIXEL_MEAN``/``PIXEL_STD``. Written down as a dict it travels in an exported classifier's
JSON, so that plain torchvision reproduces it (``tests/test_predict.py`` checks the equality with
Dassl's transform).
"""
from typing import Optional

from PIL import Image

from .errors import ConfigError

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".ppm", ".pgm")


def test_preprocessing(input_cfg) -> dict:
    """The run's test transform from its ``INPUT`` config node, as JSON-ready data."""
    if input_cfg.NO_TRANSFORM:
        raise ConfigError("INPUT.NO_TRANSFORM is set: the run fed untransformed images, which a model cannot take.")
    if "instance_norm" in input_cfg.TRANSFORMS:
        raise ConfigError("INPUT.TRANSFORMS has instance_norm, which prediction and export do not support.")
    normalize = "normalize" in input_cfg.TRANSFORMS
    return {
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
    steps = [T.Resize(preprocessing["resize_shorter_edge"], interpolation=modes[preprocessing["interpolation"]]),
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

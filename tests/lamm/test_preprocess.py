"""lamm/preprocess.py: an open_clip model's own preprocessing replaces the shipped configs' OpenAI
values; a command-line value that contradicts it is an error naming the model's; weights that
squash images (SigLIP) are tested on squashed images."""
import numpy as np
import pytest
import torch
from PIL import Image

from lamm.errors import ConfigError
from lamm import preprocess
from lamm.preprocess import apply_model_preprocessing, build_test_transform, resize_mode

OPENAI_MEAN = (0.48145466, 0.4578275, 0.40821073)


def config(name, weights="", **input_values):
    from dassl.config import get_cfg_default

    from trainers.config import extend_cfg

    cfg = get_cfg_default()
    extend_cfg(cfg)
    cfg.MODEL.BACKBONE.NAME, cfg.MODEL.BACKBONE.WEIGHTS = name, weights
    cfg.INPUT.SIZE, cfg.INPUT.PIXEL_MEAN, cfg.INPUT.INTERPOLATION = (224, 224), OPENAI_MEAN, "bicubic"
    cfg.INPUT.TRANSFORMS = ("random_resized_crop", "random_flip", "normalize")  # as the shipped configs
    for key, value in input_values.items():
        setattr(cfg.INPUT, key, value)
    return cfg


def test_siglip2s_preprocessing_replaces_the_shipped_openai_values():
    cfg = config("open_clip:ViT-B-16-SigLIP2", "webli")  # read from open_clip's tables: nothing downloaded
    model = apply_model_preprocessing(cfg, [])
    assert tuple(cfg.INPUT.PIXEL_MEAN) == (0.5, 0.5, 0.5) and tuple(cfg.INPUT.PIXEL_STD) == (0.5, 0.5, 0.5)
    assert tuple(cfg.INPUT.SIZE) == (224, 224) and cfg.INPUT.INTERPOLATION == "bicubic"
    assert model["resize_mode"] == "squash" and resize_mode(cfg) == "squash"


def test_a_command_line_value_that_contradicts_the_model_names_the_right_one():
    cfg = config("open_clip:ViT-B-16-SigLIP2", "webli")
    with pytest.raises(ConfigError, match=r'INPUT.PIXEL_MEAN .* contradicts the preprocessing of '
                                          r'open_clip:ViT-B-16-SigLIP2 \("\(0.5, 0.5, 0.5\)"\); drop INPUT.PIXEL_MEAN'):
        apply_model_preprocessing(cfg, ["INPUT.PIXEL_MEAN", str(list(OPENAI_MEAN))])
    with pytest.raises(ConfigError, match=r'INPUT.SIZE "\(256, 256\)" contradicts .* set INPUT.SIZE "\(224, 224\)"'):
        apply_model_preprocessing(config("open_clip:ViT-B-16-SigLIP2", "webli", SIZE=(256, 256)), ["INPUT.SIZE", "(256, 256)"])
    agreeing = config("open_clip:ViT-B-16-SigLIP2", "webli", PIXEL_STD=(0.5, 0.5, 0.5))
    apply_model_preprocessing(agreeing, ["INPUT.PIXEL_STD", "(0.5, 0.5, 0.5)"])  # agreeing is fine


def test_openai_clip_keeps_the_config_values():
    cfg = config("ViT-B/16")
    assert apply_model_preprocessing(cfg, []) is None and tuple(cfg.INPUT.PIXEL_MEAN) == OPENAI_MEAN
    assert resize_mode(cfg) == "shortest"


def test_squash_resizes_to_the_input_size_without_cropping():
    from torchvision import transforms as T

    cfg = config("open_clip:ViT-B-16-SigLIP2", "webli")
    apply_model_preprocessing(cfg, [])
    image = Image.fromarray(np.random.default_rng(0).integers(0, 256, (181, 301, 3), dtype=np.uint8))
    squashed = build_test_transform(preprocess.test_preprocessing(cfg.INPUT, resize_mode(cfg)))(image)
    expected = T.Normalize((0.5,) * 3, (0.5,) * 3)(T.ToTensor()(T.Resize([224, 224], interpolation=T.InterpolationMode.BICUBIC)(image)))
    assert torch.equal(squashed, expected)
    cropped = build_test_transform(preprocess.test_preprocessing(cfg.INPUT))(image)
    assert cropped.shape == squashed.shape and not torch.equal(cropped, squashed)

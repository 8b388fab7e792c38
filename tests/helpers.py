"""Shared test helpers: a tiny CLIP and reference text features computed the plain CLIP way."""
import clip
import torch
import torch.nn.functional as F

from tools.tiny_clip import build_tiny_clip

CLASSNAMES = ["airplane", "face", "leopard", "2000 AM General Hummer SUV", "motor_bike"]


def tiny_clip(seed: int = 0):
    return build_tiny_clip(seed)


def plain_clip_text_features(clip_model, texts):
    """Normalised features of ``texts`` through CLIP's own ``encode_text``."""
    with torch.no_grad():
        return F.normalize(clip_model.encode_text(clip.tokenize(texts)), dim=-1)

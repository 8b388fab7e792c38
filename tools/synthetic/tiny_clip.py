"""A tiny random-weight CLIP, for tests and the smoke run (no download needed)."""
import torch
from clip.model import CLIP

TINY_IMAGE_SIZE = 32


def build_tiny_clip(seed: int = 0, image_size: int = TINY_IMAGE_SIZE, vision: str = "vit") -> CLIP:
    """Return a fp32 CLIP with 64-wide towers: a 3-layer ViT, or a small ResNet."""
    generator_state = torch.random.get_rng_state()
    torch.manual_seed(seed)
    try:
        model = CLIP(
            embed_dim=32,
            image_resolution=image_size,
            vision_layers=(1, 1, 1, 1) if vision == "resnet" else 3,
            vision_width=64,
            vision_patch_size=16,
            context_length=77,
            vocab_size=49408,
            transformer_width=64,
            transformer_heads=1,
            transformer_layers=3,
        )
    finally:
        torch.random.set_rng_state(generator_state)
    return model.eval()


def save_tiny_clip(path, seed: int = 0, image_size: int = TINY_IMAGE_SIZE, vision: str = "vit") -> str:
    """Write the tiny CLIP's state dict to ``path`` (loadable as MODEL.BACKBONE.NAME)."""
    torch.save(build_tiny_clip(seed, image_size, vision).state_dict(), str(path))
    return str(path)

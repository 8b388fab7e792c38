"""CLIP's vision transformer with MaPLe's prompts, as our own forward over its unmodified blocks.

Shallow prompts (``n_ctx`` vectors) are appended after the patch tokens at the input, without a
positional embedding; deep prompts replace those last ``n_ctx`` tokens at the input of layers
1..J-1 (Khattak et al., MaPLe, CVPR 2023).
"""
import torch
from torch import nn

from .attention import run_block


class PromptedVisionTransformer(nn.Module):
    """Wraps ``clip_model.visual`` (a ``VisionTransformer``); without prompts it equals it."""

    def __init__(self, visual: nn.Module):
        super().__init__()
        self.visual = visual

    @property
    def width(self) -> int:
        return self.visual.conv1.out_channels

    def forward(self, images: torch.Tensor, shared_prompts=None, deep_prompts=None) -> torch.Tensor:
        """Args:
            images: (B, 3, H, W) in the encoder's dtype.
            shared_prompts: optional (n_ctx, width) prompts appended at the input.
            deep_prompts: optional list of (n_ctx, width); entry i replaces the prompt tokens
                at the input of layer i+1.
        """
        visual = self.visual
        x = visual.conv1(images.type(visual.conv1.weight.dtype))  # (B, width, grid, grid)
        x = x.reshape(x.shape[0], x.shape[1], -1).permute(0, 2, 1)  # (B, grid², width)
        cls = visual.class_embedding.to(x.dtype).expand(x.shape[0], 1, -1)  # (B, 1, width)
        x = torch.cat([cls, x], dim=1) + visual.positional_embedding.to(x.dtype)  # (B, 1 + grid², width)
        if shared_prompts is not None:
            prompts = shared_prompts.to(x.dtype).expand(x.shape[0], -1, -1)  # (B, n_ctx, width)
            x = torch.cat([x, prompts], dim=1)  # (B, 1 + grid² + n_ctx, width)
        x = visual.ln_pre(x).permute(1, 0, 2)  # (L, B, width)
        deep_prompts = deep_prompts or []
        for layer, block in enumerate(visual.transformer.resblocks):
            if 1 <= layer <= len(deep_prompts):
                deep = deep_prompts[layer - 1].to(x.dtype)  # (n_ctx, width)
                deep = deep.unsqueeze(1).expand(-1, x.shape[1], -1)  # (n_ctx, B, width)
                x = torch.cat([x[:-deep.shape[0]], deep], dim=0)
            x = run_block(block, x)
        x = visual.ln_post(x[0])  # the class token, (B, width)
        return x @ visual.proj if visual.proj is not None else x

"""MaPLe's multi-modal prompts (Khattak et al., CVPR 2023) on top of the prompt learner.

Text: the context vectors at the input, plus ``J-1`` deep text prompts that replace the context
tokens at layers 1..J-1. Vision: each text prompt is projected (Linear 512 -> 768 on ViT-B) to
a vision prompt: the projected context is appended at the input, the projected deep prompts
replace it at layers 1..J-1. J is PROMPT_DEPTH.
"""
import copy

import torch
from torch import nn

from .errors import ConfigError
from .prompt_learner import PromptLearner

DEEP_PROMPT_INIT_STD = 0.02


class MultiModalPromptLearner(PromptLearner):
    """A ``PromptLearner`` with MaPLe's coupled text and vision prompts.

    Args (besides ``PromptLearner``'s):
        prompt_depth: J, the number of layers that receive prompts (1 = input only).
        vision_width: width of the vision transformer (768 for ViT-B).
        text_layers, vision_layers: depth of the two transformers, to validate J.
    """

    def __init__(self, token_embedding, classnames, *, prompt_depth: int, vision_width: int,
                 text_layers: int, vision_layers: int, **kwargs):
        if prompt_depth < 1:
            raise ConfigError(f"TRAINER.MAPLE.PROMPT_DEPTH must be >= 1, got {prompt_depth}.")
        if prompt_depth > min(text_layers, vision_layers):
            raise ConfigError(
                f"TRAINER.MAPLE.PROMPT_DEPTH {prompt_depth} exceeds the encoders' depth "
                f"({text_layers} text, {vision_layers} vision layers)."
            )
        super().__init__(token_embedding, classnames, **kwargs)
        if self.ctx.dim() != 2:
            raise ConfigError("MaPLe shares one context across classes; set CSC False.")
        text_width = self.ctx.shape[-1]
        self.proj = nn.Linear(text_width, vision_width)
        self.compound_prompts_text = nn.ParameterList([
            nn.Parameter(torch.randn(self.n_ctx, text_width) * DEEP_PROMPT_INIT_STD) for _ in range(prompt_depth - 1)
        ])
        # MaPLe copies one initialised layer, so all projections start identical.
        projection = nn.Linear(text_width, vision_width)
        self.compound_prompt_projections = nn.ModuleList(copy.deepcopy(projection) for _ in range(prompt_depth - 1))

    def context_parameters(self):
        return [self.ctx, *self.compound_prompts_text]

    def text_deep_prompts(self, initial_context: bool = False):
        # The hand-made original prompt (paper) is CLIP's plain prompt: no deep prompts.
        return None if initial_context else list(self.compound_prompts_text)

    def vision_prompts(self):
        shared = self.proj(self.ctx)  # (n_ctx, vision_width)
        deep = [project(prompt) for project, prompt in zip(self.compound_prompt_projections, self.compound_prompts_text)]
        return shared, deep

"""OpenAI's CLIP (the ``clip`` package) as a ``Backbone``: causal text tower pooled at the
end-of-text token, BPE tokenizer with start and end tokens, 77-token context, no logit bias.

Every piece is the model's own module, so the computation is the one the method code did
before backbones existed; loading stays in ``lamm.clip_loader``.
"""
import functools
from typing import List, Sequence

import torch
from torch import nn

from ..errors import ConfigError
from .base import Backbone, Tokenizer

# The preprocessing of OpenAI's weights (clip.clip._transform): bicubic resize of the shorter
# edge, center crop, these mean and std; the input size is the model's resolution.
OPENAI_MEAN = (0.48145466, 0.4578275, 0.40821073)
OPENAI_STD = (0.26862954, 0.26130258, 0.27577711)


class OpenAITokenizer(Tokenizer):
    """The ``clip`` package's BPE tokenizer; whole prompts are tokenized as one text, as CoOp does."""

    whole_text = True
    name = "openai-bpe"

    def __init__(self, context_length: int = 77):
        self.context_length = context_length
        self.start_ids = [self.bpe.encoder["<|startoftext|>"]]
        self.end_ids = [self.bpe.encoder["<|endoftext|>"]]
        self.pad_id = 0

    @property
    def bpe(self):
        return simple_tokenizer()

    def encode(self, text: str) -> List[int]:
        return self.bpe.encode(text)

    def decode(self, ids: Sequence[int]) -> str:
        return self.bpe.decode([int(i) for i in ids])

    def vocabulary_size(self) -> int:
        return len(self.bpe.encoder)

    def special_ids(self):
        return self.start_ids + self.end_ids  # id 0 (the padding) is also the word "!"

    def tokenize(self, texts: Sequence[str]) -> torch.Tensor:
        import clip

        try:
            return clip.tokenize(list(texts), context_length=self.context_length)
        except RuntimeError as error:  # too long for the context
            raise ConfigError(f"A prompt does not fit CLIP's {self.context_length} tokens: {error}") from error


@functools.lru_cache(maxsize=1)
def simple_tokenizer():
    from clip.simple_tokenizer import SimpleTokenizer

    return SimpleTokenizer()


@functools.lru_cache(maxsize=4)
def openai_tokenizer(context_length: int = 77) -> OpenAITokenizer:
    return OpenAITokenizer(context_length)


class OpenAIBackbone(Backbone):
    def encode_text(self, texts: Sequence[str]) -> torch.Tensor:
        device = self.token_embedding.weight.device
        return self.model.encode_text(self.tokenizer.tokenize(texts).to(device))


def _vision_transformer(visual: nn.Module):
    # ModifiedResNet has no class token: MaPLe cannot prompt it.
    return visual if hasattr(visual, "conv1") and hasattr(visual, "class_embedding") else None


def describe_openai_clip(model: nn.Module, name: str = "", weights: str = "") -> Backbone:
    """The ``Backbone`` of a ``clip.model.CLIP``."""
    resolution = model.visual.input_resolution
    return OpenAIBackbone(
        model=model,
        text_tower=model,
        token_embedding=model.token_embedding,
        tokenizer=openai_tokenizer(model.context_length),
        image_encoder=model.visual,
        vision_transformer=_vision_transformer(model.visual),
        logit_scale=model.logit_scale,
        preprocess={"size": (resolution, resolution), "mean": OPENAI_MEAN, "std": OPENAI_STD,
                    "interpolation": "bicubic", "resize_mode": "shortest"},
        causal=True,
        pooling="eot",
        name=name,
        weights=weights,
        family="openai",
    )

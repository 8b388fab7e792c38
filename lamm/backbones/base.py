"""What the method code needs from a vision-language backbone, whatever library built it.

A ``Backbone`` names the pieces prompt learning touches: the word-embedding table, the
tokenizer, the text tower (its blocks, positional embedding, final norm, projection, whether it
is causal and where it pools), the image encoder, the logit scale and bias, and the image
preprocessing the weights were trained with. ``lamm.backbones.openai`` describes OpenAI's
``clip`` models, ``lamm.backbones.open_clip`` open_clip's ``CLIP`` and ``CustomTextCLIP``.

Two facts decide which exact shortcuts apply (``lamm.text_encoder``): ``causal`` (each token
attends only to earlier ones) and ``pooling``. Dropping the tokens after the end-of-text token
and computing a shared prefix once change no number only when the tower is causal and pools at
the end-of-text token; a bidirectional tower (SigLIP) reads every token of its full context.
"""
from dataclasses import dataclass, field
from typing import List, Optional, Sequence

import torch
from torch import nn

from ..errors import ConfigError

POOLINGS = ("eot", "last", "first")  # the end-of-text token, the last position, the first one


class Tokenizer:
    """A model's tokenizer, as prompt layouts use it.

    ``encode`` gives a text's tokens without special tokens; a tokenized prompt is
    ``start_ids + tokens + end_ids`` padded with ``pad_id`` to ``context_length``.
    ``whole_text``: a prompt is tokenized as one text (OpenAI's BPE, as CoOp does), else as the
    concatenation of its pieces' tokens, so that a class name has the tokens it has alone.
    """

    context_length: int = 77
    start_ids: List[int] = []
    end_ids: List[int] = []
    pad_id: int = 0
    whole_text: bool = False
    name: str = ""

    def encode(self, text: str) -> List[int]:
        raise NotImplementedError

    def decode(self, ids: Sequence[int]) -> str:
        raise NotImplementedError

    def vocabulary_size(self) -> int:
        raise NotImplementedError

    def special_ids(self) -> List[int]:
        """Ids that never stand for a word (start, end, padding)."""
        return sorted(set(self.start_ids) | set(self.end_ids) | {self.pad_id})

    def count(self, text: str) -> int:
        return len(self.encode(text))

    def _check_fits(self, length: int, text: str) -> None:
        if length > self.context_length:
            raise ConfigError(f"A prompt does not fit the text tower's {self.context_length} tokens "
                              f"({length} with special tokens): {text!r}")

    def ids_of_pieces(self, pieces: Sequence[str]) -> List[int]:
        """Token ids of a prompt given as pieces (context, fixed words, class name, "."),
        without padding."""
        ids = list(self.start_ids)
        for piece in pieces:
            ids += self.encode(piece) if piece else []
        ids += self.end_ids
        self._check_fits(len(ids), " ".join(piece for piece in pieces if piece))
        return ids

    def tokenize(self, texts: Sequence[str]) -> torch.Tensor:
        """(N, context_length) int64 ids of whole texts (zero-shot prompts)."""
        return self.pad([self.ids_of_pieces([text]) for text in texts])

    def pad(self, rows: Sequence[Sequence[int]]) -> torch.Tensor:
        out = torch.full((len(rows), self.context_length), self.pad_id, dtype=torch.long)
        for i, ids in enumerate(rows):
            out[i, :len(ids)] = torch.tensor(ids, dtype=torch.long)
        return out


@dataclass
class Backbone:
    """A frozen vision-language model as the method code sees it.

    Args:
        model: the whole model (moved, cast and switched to eval with it).
        text_tower: a module with ``transformer.resblocks``, ``positional_embedding``, ``ln_final``
            and ``text_projection`` (a matrix, an ``nn.Linear`` or None): OpenAI's ``CLIP``,
            open_clip's ``CLIP`` or its ``TextTransformer``.
        token_embedding: the word-embedding table.
        tokenizer: the model's tokenizer.
        image_encoder: images (B, 3, H, W) -> (B, D) features, not normalised.
        vision_transformer: the ViT in OpenAI's layout that MaPLe prompts (``conv1``,
            ``class_embedding``, ``ln_pre``, ``transformer.resblocks``, ``ln_post``, ``proj``), or
            None when the vision tower is anything else (MaPLe then refuses the backbone).
        causal: the text tower's attention is causal.
        pooling: where the text feature is read, one of ``POOLINGS``.
        pad_mask: padding after the end-of-text token is masked out of attention.
        logit_scale: log of the logit scale (a parameter). logit_bias: added to every logit, or None.
        preprocess: the image preprocessing of the weights (``size``, ``mean``, ``std``,
            ``interpolation``, ``resize_mode``).
        name, weights: what was loaded, for the record.
    """

    model: nn.Module
    text_tower: nn.Module
    token_embedding: nn.Embedding
    tokenizer: Tokenizer
    image_encoder: nn.Module
    logit_scale: torch.Tensor
    preprocess: dict
    vision_transformer: Optional[nn.Module] = None
    causal: bool = True
    pooling: str = "eot"
    pad_mask: bool = False
    logit_bias: Optional[torch.Tensor] = None
    name: str = ""
    weights: str = ""
    family: str = "openai"
    extra: dict = field(default_factory=dict)

    @property
    def prompt_shortcuts_exact(self) -> bool:
        """Whether truncation after the end-of-text token and the shared prefix change no number."""
        return self.causal and self.pooling == "eot" and not self.pad_mask

    @property
    def maple_compatible(self) -> bool:
        """MaPLe's deep prompts need OpenAI's ViT layout and the context right after one start token."""
        return self.vision_transformer is not None and len(self.tokenizer.start_ids) == 1

    @property
    def context_length(self) -> int:
        return self.tokenizer.context_length

    @property
    def dtype(self) -> torch.dtype:
        return text_dtype(self.text_tower)

    @property
    def visual(self) -> nn.Module:
        return self.model.visual

    def eval(self) -> "Backbone":
        self.model.eval()
        return self

    def to(self, *args, **kwargs) -> "Backbone":
        self.model.to(*args, **kwargs)
        return self

    def float(self) -> "Backbone":
        self.model.float()
        return self

    def to_precision(self, precision: str) -> "Backbone":
        """The frozen towers in the run's precision: fp16 as loaded (OpenAI's), else fp32."""
        if precision != "fp16":
            self.model.float()
        return self

    def encode_image(self, images: torch.Tensor) -> torch.Tensor:
        return self.image_encoder(images)

    def encode_text(self, texts: Sequence[str]) -> torch.Tensor:
        """Features of whole texts through the model's own text forward (zero-shot prompts)."""
        raise NotImplementedError

    def logits(self, image_features: torch.Tensor, text_features: torch.Tensor) -> torch.Tensor:
        logits = self.logit_scale.exp() * image_features @ text_features.t()
        return logits if self.logit_bias is None else logits + self.logit_bias


def text_dtype(text_tower: nn.Module) -> torch.dtype:
    """The dtype the text tower computes in: that of its projection (OpenAI's fp16 conversion
    leaves the positional embedding in fp32), else of its final norm."""
    projection = text_tower.text_projection
    if isinstance(projection, nn.Linear):
        return projection.weight.dtype
    if projection is not None:
        return projection.dtype
    return text_tower.ln_final.weight.dtype

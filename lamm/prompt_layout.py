"""Where each piece of a prompt sits in the text tower's token sequence (CLIP: 77 tokens).

A prompt is ``[SOS] <context> <class name> . [EOS] <padding>`` (CoOp's "end" position; "middle"
and "front" move the name). The layout records, per class, the token ids of the prompt and the
positions of the context tokens and of the class-name tokens, so that learnable vectors can be
written into those positions of the word embeddings.

The tokens are the backbone's own (``lamm.backbones.Tokenizer``): OpenAI's BPE by default, where
the prompt is tokenized as one text as CoOp does; another tokenizer (SigLIP's SentencePiece)
tokenizes the pieces one by one, so that a class name keeps the tokens it has alone, and may
have no start token (the context then starts at position 0).
"""
from dataclasses import dataclass
from typing import List, Optional, Sequence

import torch

from .backbones.openai import openai_tokenizer, simple_tokenizer
from .errors import ConfigError

CLASS_TOKEN_POSITIONS = ("end", "middle", "front")
CONTEXT_PLACEHOLDER = "X"  # overwritten by the context vectors, so its own embedding never matters


def tokenizer():
    """The ``clip`` package's BPE tokenizer (OpenAI's vocabulary)."""
    return simple_tokenizer()


def count_tokens(text: str, text_tokenizer=None) -> int:
    """Number of tokens of ``text``; every digit is its own token in CLIP's tokenizer."""
    return (text_tokenizer or openai_tokenizer()).count(text)


def tokenize(texts: Sequence[str], text_tokenizer=None) -> torch.Tensor:
    """(N, context length) token ids of whole texts, with start, end and padding."""
    return (text_tokenizer or openai_tokenizer()).tokenize(texts)


def _prompt_ids(pieces: List[str], text_tokenizer) -> torch.Tensor:
    if text_tokenizer.whole_text:  # as CoOp: the words joined, the full stop attached
        return text_tokenizer.tokenize([" ".join(piece for piece in pieces[:-1] if piece) + pieces[-1]])[0]
    return text_tokenizer.pad([text_tokenizer.ids_of_pieces(pieces)])[0]


@dataclass(frozen=True)
class PromptLayout:
    """Token ids and slot positions of one prompt per class (all tensors have n_cls rows)."""

    token_ids: torch.Tensor  # (n_cls, 77) int64
    context_positions: torch.Tensor  # (n_cls, n_ctx) int64
    name_starts: torch.Tensor  # (n_cls,) int64
    name_lengths: torch.Tensor  # (n_cls,) int64
    end_positions: Optional[torch.Tensor] = None  # (n_cls,) where the tokenizer's ids do not say

    @property
    def eot_indices(self) -> torch.Tensor:
        if self.end_positions is not None:
            return self.end_positions
        # The end-of-text token has the largest id, as in CLIP's encode_text.
        return self.token_ids.argmax(dim=-1)

    @property
    def num_classes(self) -> int:
        return self.token_ids.shape[0]


def build_prompt_layout(
    names: List[str],
    n_ctx: int,
    class_token_position: str = "end",
    fixed_text: str = "",
    text_tokenizer=None,
) -> PromptLayout:
    """Lay out ``context + name + "."`` for every class name, with placeholders in the context
    slots (the caller writes the context vectors there).

    ``fixed_text`` is kept as words between the context and the name ("end" only): MaPLe learns
    two context vectors from "a photo of a" and keeps "of a" as text. ``text_tokenizer``: the
    backbone's (``lamm.backbones.Tokenizer``), OpenAI's BPE by default.
    """
    if fixed_text and class_token_position != "end":
        raise ConfigError("Fixed words between the context and the class name need CLASS_TOKEN_POSITION end.")
    text_tokenizer = text_tokenizer or openai_tokenizer()
    count = text_tokenizer.count
    start = len(text_tokenizer.start_ids)  # 1: OpenAI's [SOS]; 0 for a tokenizer without one
    if n_ctx and count(" ".join([CONTEXT_PLACEHOLDER] * 3)) != 3:
        raise ConfigError(f"The context placeholder {CONTEXT_PLACEHOLDER!r} is not one token in the backbone's "
                          "tokenizer; this tokenizer is not supported.")
    fixed_length = count(fixed_text) if fixed_text else 0
    placeholders = lambda k: " ".join([CONTEXT_PLACEHOLDER] * k)
    if class_token_position not in CLASS_TOKEN_POSITIONS:
        raise ConfigError(
            f"Unknown class token position {class_token_position!r}; "
            f"choose one of {', '.join(CLASS_TOKEN_POSITIONS)}."
        )
    rows, context_positions, name_starts, name_lengths, ends = [], [], [], [], []
    for name in names:
        name_length = count(name)
        if class_token_position == "end" or n_ctx == 0:
            pieces = [placeholders(n_ctx), fixed_text, name, "."]
            context_slots = list(range(start, start + n_ctx))
            name_start = start + n_ctx + fixed_length
        elif class_token_position == "front":
            pieces = [name, placeholders(n_ctx), "."]
            context_slots = list(range(start + name_length, start + name_length + n_ctx))
            name_start = start
        else:  # middle: half the context before the name, the rest after it (CoOp)
            half = n_ctx // 2
            pieces = [placeholders(half), name, placeholders(n_ctx - half), "."]
            context_slots = list(range(start, start + half)) + list(
                range(start + half + name_length, start + n_ctx + name_length)
            )
            name_start = start + half
        rows.append(_prompt_ids(pieces, text_tokenizer))
        ends.append(start + sum(count(piece) for piece in pieces if piece))
        context_positions.append(context_slots)
        name_starts.append(name_start)
        name_lengths.append(name_length)
    return PromptLayout(
        token_ids=torch.stack(rows),
        context_positions=torch.tensor(context_positions, dtype=torch.long).reshape(len(names), n_ctx),
        name_starts=torch.tensor(name_starts, dtype=torch.long),
        name_lengths=torch.tensor(name_lengths, dtype=torch.long),
        end_positions=None if text_tokenizer.whole_text else torch.tensor(ends, dtype=torch.long),
    )

"""Where each piece of a prompt sits in CLIP's 77-token sequence.

A prompt is ``[SOS] <context> <class name> . [EOS] <padding>`` (CoOp's "end" position; "middle"
and "front" move the name). The layout records, per class, the token ids of the prompt and the
positions of the context tokens and of the class-name tokens, so that learnable vectors can be
written into those positions of the word embeddings.
"""
import functools
from dataclasses import dataclass
from typing import List, Sequence

import torch

from .errors import ConfigError

CLASS_TOKEN_POSITIONS = ("end", "middle", "front")
CONTEXT_PLACEHOLDER = "X"  # overwritten by the context vectors, so its own embedding never matters


@functools.lru_cache(maxsize=1)
def tokenizer():
    from clip.simple_tokenizer import SimpleTokenizer

    return SimpleTokenizer()


def count_tokens(text: str) -> int:
    """Number of BPE tokens of ``text``; every digit is its own token in CLIP's tokenizer."""
    return len(tokenizer().encode(text))


def tokenize(texts: Sequence[str]) -> torch.Tensor:
    import clip

    try:
        return clip.tokenize(list(texts))
    except RuntimeError as error:  # too long for the 77-token context
        raise ConfigError(f"A prompt does not fit CLIP's 77 tokens: {error}") from error


@dataclass(frozen=True)
class PromptLayout:
    """Token ids and slot positions of one prompt per class (all tensors have n_cls rows)."""

    token_ids: torch.Tensor  # (n_cls, 77) int64
    context_positions: torch.Tensor  # (n_cls, n_ctx) int64
    name_starts: torch.Tensor  # (n_cls,) int64
    name_lengths: torch.Tensor  # (n_cls,) int64

    @property
    def eot_indices(self) -> torch.Tensor:
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
) -> PromptLayout:
    """Lay out ``context + name + "."`` for every class name, with placeholders in the context
    slots (the caller writes the context vectors there).

    ``fixed_text`` is kept as words between the context and the name ("end" only): MaPLe learns
    two context vectors from "a photo of a" and keeps "of a" as text.
    """
    if fixed_text and class_token_position != "end":
        raise ConfigError("Fixed words between the context and the class name need CLASS_TOKEN_POSITION end.")
    fixed_words = [fixed_text] if fixed_text else []
    fixed_length = count_tokens(fixed_text) if fixed_text else 0
    if class_token_position not in CLASS_TOKEN_POSITIONS:
        raise ConfigError(
            f"Unknown class token position {class_token_position!r}; "
            f"choose one of {', '.join(CLASS_TOKEN_POSITIONS)}."
        )
    texts, context_positions, name_starts, name_lengths = [], [], [], []
    for name in names:
        name_length = count_tokens(name)
        if class_token_position == "end" or n_ctx == 0:
            texts.append(" ".join([CONTEXT_PLACEHOLDER] * n_ctx + fixed_words + [name]) + ".")
            context_slots = list(range(1, 1 + n_ctx))
            name_start = 1 + n_ctx + fixed_length
        elif class_token_position == "front":
            texts.append(" ".join([name] + [CONTEXT_PLACEHOLDER] * n_ctx) + ".")
            context_slots = list(range(1 + name_length, 1 + name_length + n_ctx))
            name_start = 1
        else:  # middle: half the context before the name, the rest after it (CoOp)
            half = n_ctx // 2
            words = [CONTEXT_PLACEHOLDER] * half + [name] + [CONTEXT_PLACEHOLDER] * (n_ctx - half)
            texts.append(" ".join(words) + ".")
            context_slots = list(range(1, 1 + half)) + list(
                range(1 + half + name_length, 1 + n_ctx + name_length)
            )
            name_start = 1 + half
        context_positions.append(context_slots)
        name_starts.append(name_start)
        name_lengths.append(name_length)
    return PromptLayout(
        token_ids=tokenize(texts),
        context_positions=torch.tensor(context_positions, dtype=torch.long).reshape(len(names), n_ctx),
        name_starts=torch.tensor(name_starts, dtype=torch.long),
        name_lengths=torch.tensor(name_lengths, dtype=torch.long),
    )

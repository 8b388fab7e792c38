"""The learnable label embeddings ``<M_i>`` that replace class-name tokens (paper Eq. 2 and 4).

Label embeddings belong to class *indices*, never to names: ImageNet's class list repeats names
("missile", "sunglasses"), which breaks code that keys them by name.

Which tokens of a class name become learnable is a choice (``TRAINER.LAMM.LABEL_TOKENS``):

- ``shortest`` (official code): the first ``min(name lengths)`` tokens of every name; the rest
  of a longer name stays as fixed word embeddings.
- ``all``: every token of every name.
- ``one``: a single vector per class in place of the whole name (the paper's ``<M_i>``),
  initialised to the mean of the name's word embeddings.
"""
import torch
from torch import nn

from .errors import ConfigError
from .prompt_layout import PromptLayout

LABEL_TOKEN_MODES = ("shortest", "all", "one")
LABEL_INITS = ("word", "random")
RANDOM_INIT_STD = 0.02  # as the official code's random initialisation (paper Table 5)


class LabelEmbeddings(nn.Module):
    """Learnable vectors written into given (class, position) slots of the prompt embeddings.

    Args:
        initial: (n_slots, dim) starting vectors, e.g. the class names' word embeddings.
        class_index: (n_slots,) class of each slot.
        positions: (n_slots,) token position of each slot in its class's prompt.
        random_init: start from N(0, 0.02) instead of ``initial``.

    ``anchor`` holds the starting vectors (after a random init, the random ones, as in the
    official code); the parameter-space loss pulls the vectors back to it.
    """

    def __init__(self, initial: torch.Tensor, class_index: torch.Tensor, positions: torch.Tensor,
                 random_init: bool = False):
        super().__init__()
        if not (initial.shape[0] == class_index.shape[0] == positions.shape[0]):
            raise ValueError("initial, class_index and positions need one row per slot")
        start = torch.randn_like(initial, dtype=torch.float32) * RANDOM_INIT_STD if random_init else initial
        self.vectors = nn.Parameter(start.detach().float().clone())
        self.register_buffer("anchor", self.vectors.detach().clone())
        self.register_buffer("class_index", class_index.long(), persistent=False)
        self.register_buffer("positions", positions.long(), persistent=False)

    @property
    def num_slots(self) -> int:
        return self.vectors.shape[0]

    def write_into(self, prompt_embeddings: torch.Tensor) -> torch.Tensor:
        """Return ``prompt_embeddings`` (n_cls, L, dim) with the label slots replaced."""
        vectors = self.vectors.to(prompt_embeddings.dtype)
        return prompt_embeddings.index_put((self.class_index, self.positions), vectors)


def check_label_options(mode: str, init: str) -> None:
    if mode not in LABEL_TOKEN_MODES:
        raise ConfigError(f"Unknown TRAINER.LAMM.LABEL_TOKENS {mode!r}; choose one of {', '.join(LABEL_TOKEN_MODES)}.")
    if init not in LABEL_INITS:
        raise ConfigError(f"Unknown TRAINER.LAMM.LABEL_INIT {init!r}; choose one of {', '.join(LABEL_INITS)}.")


def build_label_embeddings(
    mode: str,
    name_layout: PromptLayout,
    name_word_embeddings: torch.Tensor,
    label_layout: PromptLayout,
    random_init: bool = False,
) -> LabelEmbeddings:
    """Create the label embeddings for a layout.

    Args:
        mode: one of ``LABEL_TOKEN_MODES``.
        name_layout: layout of the prompts holding the real class names.
        name_word_embeddings: (n_cls, 77, dim) word embeddings of ``name_layout``'s tokens.
        label_layout: layout of the learned prompts; equal to ``name_layout`` except for
            ``one``, where each name is a single placeholder token.
    """
    n_cls = name_layout.num_classes
    if mode == "one":
        initial = torch.stack([
            name_word_embeddings[i, start:start + length].mean(dim=0)
            for i, (start, length) in enumerate(zip(name_layout.name_starts.tolist(), name_layout.name_lengths.tolist()))
        ])  # (n_cls, dim)
        return LabelEmbeddings(initial, torch.arange(n_cls), label_layout.name_starts.clone(), random_init)
    if mode == "shortest":
        lengths = torch.full((n_cls,), int(name_layout.name_lengths.min()), dtype=torch.long)
    else:
        lengths = name_layout.name_lengths
    class_index = torch.repeat_interleave(torch.arange(n_cls), lengths)  # (n_slots,)
    offsets = torch.cat([torch.arange(int(n)) for n in lengths])  # position within each name
    positions = name_layout.name_starts[class_index] + offsets
    initial = name_word_embeddings[class_index, positions]  # (n_slots, dim)
    return LabelEmbeddings(initial, class_index, positions, random_init)

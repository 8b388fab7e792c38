"""The learnable label embeddings ``<M_i>`` that replace class-name tokens (paper Eq. 2 and 4).

Label embeddings belong to class *indices*, never to names: ImageNet's class list repeats names
("missile", "sunglasses"), which breaks code that keys them by name.

Which tokens of a class name become learnable is a choice (``TRAINER.LAMM.LABEL_TOKENS``):

- ``shortest`` (official code): the first ``min(name lengths)`` tokens of every name; the rest
  of a longer name stays as fixed word embeddings.
- ``all``: every token of every name.
- ``one``: a single vector per class in place of the whole name (the paper's ``<M_i>``),
  initialised to the mean of the name's word embeddings.

Where the labels sit is a second choice (``LABEL_LAYOUTS``): ``name``, in the class name's
tokens as above, or ``official``, the official MaPLe+LAMM code's layout: one vector per class in
the first slot after the context (the word "of" of MaPLe's "[SOS] v1 v2 of a <name> ."),
starting from the embedding of the name's first token, with the whole name kept as words.
"""
import hashlib

import torch
from torch import nn

from .errors import ConfigError
from .prompt_layout import PromptLayout

from .choices import LABEL_INITS, LABEL_LAYOUTS, LABEL_TOKEN_MODES  # noqa: F401  (read from here too)
RANDOM_INIT_STD = 0.02  # as the official code's random initialisation (paper Table 5)


def name_hash(name: str) -> int:
    """A stable 63-bit fingerprint of a class name, storable in a tensor."""
    return int.from_bytes(hashlib.sha1(name.encode("utf-8")).digest()[:8], "big") >> 1


class LabelEmbeddings(nn.Module):
    """Learnable vectors written into given (class, position) slots of the prompt embeddings.

    Args:
        initial: (n_slots, dim) starting vectors, e.g. the class names' word embeddings.
        class_index: (n_slots,) class of each slot.
        positions: (n_slots,) token position of each slot in its class's prompt.
        random_init: start from N(0, 0.02) instead of ``initial``.
        class_ids: (n_cls,) identity of each class in a wider label space (e.g. the ImageNet index
            of an ImageNet-A class, or a new class's index among all classes); labels move between
            label spaces by these ids. Default: 0..n_cls-1.
        classnames: the class names; with the ids they decide which saved labels belong to which
            class, so that a checkpoint of another dataset never passes for this one.

    ``anchor`` holds the starting vectors (after a random init, the random ones, as in the
    official code); the parameter-space loss pulls the vectors back to it. Slots taken over from
    another model (``trainers.checkpoints.adopt_labels``) can be frozen (``frozen_*`` buffers):
    they are written into the prompts but never trained, which is how LAMM keeps old classes
    intact in class-incremental learning.
    """

    def __init__(self, initial: torch.Tensor, class_index: torch.Tensor, positions: torch.Tensor,
                 random_init: bool = False, class_ids=None, classnames=None):
        super().__init__()
        if not (initial.shape[0] == class_index.shape[0] == positions.shape[0]):
            raise ValueError("initial, class_index and positions need one row per slot")
        start = torch.randn_like(initial, dtype=torch.float32) * RANDOM_INIT_STD if random_init else initial
        num_classes = int(class_index.max()) + 1 if len(class_index) else 0
        self.vectors = nn.Parameter(start.detach().float().clone())
        self.register_buffer("anchor", self.vectors.detach().clone())
        self.register_buffer("class_index", class_index.long().clone())
        self.register_buffer("positions", positions.long().clone())
        dim = initial.shape[1]
        self.register_buffer("frozen_vectors", torch.zeros(0, dim))
        self.register_buffer("frozen_class_index", torch.zeros(0, dtype=torch.long))
        self.register_buffer("frozen_positions", torch.zeros(0, dtype=torch.long))
        ids = torch.arange(num_classes) if class_ids is None else torch.as_tensor(list(class_ids), dtype=torch.long)
        self.register_buffer("class_ids", ids)
        hashes = [name_hash(name) for name in classnames] if classnames is not None else [0] * len(ids)
        self.register_buffer("class_name_hashes", torch.tensor(hashes, dtype=torch.long))

    @property
    def num_slots(self) -> int:
        return self.vectors.shape[0]

    def first_position(self) -> int:
        """The earliest prompt position holding a label, trained or frozen (77 when none).

        Positions change only by a state load; the value is cached on the tensors' identity and
        version, so a forward pass does not wait for the device to read it.
        """
        tensors = (self.positions, self.frozen_positions)
        key = tuple((id(t), t._version) for t in tensors)
        if getattr(self, "_first_position_key", None) != key:
            self._first_position = min((int(t.min()) for t in tensors if len(t)), default=77)
            self._first_position_key = key
        return self._first_position

    def write_into(self, prompt_embeddings: torch.Tensor) -> torch.Tensor:
        """Return ``prompt_embeddings`` (n_cls, L, dim) with the label slots replaced."""
        if len(self.frozen_vectors):
            prompt_embeddings = prompt_embeddings.index_put(
                (self.frozen_class_index, self.frozen_positions), self.frozen_vectors.to(prompt_embeddings.dtype))
        return prompt_embeddings.index_put((self.class_index, self.positions), self.vectors.to(prompt_embeddings.dtype))

    def load_slots(self, state: dict) -> None:
        """Load a label state (this module's keys) whose slot count may differ from this one's,
        e.g. labels adopted from another model (``trainers.checkpoints.adopt_labels``)."""
        device = self.vectors.device
        self.vectors = nn.Parameter(state["vectors"].to(device), requires_grad=self.vectors.requires_grad)
        for name in ("anchor", "class_index", "positions", "frozen_vectors", "frozen_class_index", "frozen_positions"):
            setattr(self, name, state[name].to(device))


def check_label_options(mode: str, init: str, layout: str = "name") -> None:
    if mode not in LABEL_TOKEN_MODES:
        raise ConfigError(f"Unknown TRAINER.LAMM.LABEL_TOKENS {mode!r}; choose one of {', '.join(LABEL_TOKEN_MODES)}.")
    if init not in LABEL_INITS:
        raise ConfigError(f"Unknown TRAINER.LAMM.LABEL_INIT {init!r}; choose one of {', '.join(LABEL_INITS)}.")
    if layout not in LABEL_LAYOUTS:
        raise ConfigError(
            f"Unknown TRAINER.LAMM.MAPLE_LABEL_LAYOUT {layout!r}; choose one of {', '.join(LABEL_LAYOUTS)}.")


def build_label_embeddings(
    mode: str,
    name_layout: PromptLayout,
    name_word_embeddings: torch.Tensor,
    label_layout: PromptLayout,
    random_init: bool = False,
    class_ids=None,
    classnames=None,
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
        return LabelEmbeddings(initial, torch.arange(n_cls), label_layout.name_starts.clone(), random_init, class_ids,
                               classnames)
    if mode == "shortest":
        lengths = torch.full((n_cls,), int(name_layout.name_lengths.min()), dtype=torch.long)
    else:
        lengths = name_layout.name_lengths
    class_index = torch.repeat_interleave(torch.arange(n_cls), lengths)  # (n_slots,)
    offsets = torch.cat([torch.arange(int(n)) for n in lengths])  # position within each name
    positions = name_layout.name_starts[class_index] + offsets
    initial = name_word_embeddings[class_index, positions]  # (n_slots, dim)
    return LabelEmbeddings(initial, class_index, positions, random_init, class_ids, classnames)


def build_official_layout_labels(
    name_layout: PromptLayout,
    name_word_embeddings: torch.Tensor,
    random_init: bool = False,
    class_ids=None,
    classnames=None,
) -> LabelEmbeddings:
    """One label per class in the first slot after the context, as the official MaPLe+LAMM code.

    That code learns the name's first BPE token (it fixes the token count at 1) but writes it
    right after the context, over the word "of", keeping the whole name as words. Token ids and
    thus the end-of-text position are those of the plain prompt. The initial vector is the first
    name token's word embedding (BPE works word by word, so it equals the embedding of the name
    tokenized alone, which the official code uses).
    """
    n_cls = name_layout.num_classes
    context = name_layout.context_positions
    slot = (context.max(dim=1).values + 1) if context.shape[1] else torch.ones(n_cls, dtype=torch.long)
    rows = torch.arange(n_cls)
    initial = name_word_embeddings[rows, name_layout.name_starts]  # (n_cls, dim)
    return LabelEmbeddings(initial, rows, slot, random_init, class_ids, classnames)

"""Compose one text prompt per class from context vectors and label embeddings.

Learned prompt ``z_i`` (paper Eq. 2 and 4): ``[SOS] [V_1..V_M] [<M_i>] . [EOS]``, where the context
``V`` is CoOp's (learnable, or frozen at e.g. "a photo of a" for LAMM on plain CLIP) and ``<M_i>``
are the label embeddings. Original prompt ``y_i``: the same context with the class name's own
word embeddings, the reference of the feature- and logits-space losses.
"""
from typing import List, Optional

import torch
from torch import nn

from .errors import ConfigError
from .label_embeddings import (LabelEmbeddings, build_label_embeddings, build_official_layout_labels,
                               check_label_options)
from .backbones.openai import openai_tokenizer
from .prompt_layout import build_prompt_layout, count_tokens, tokenize

CONTEXT_INIT_STD = 0.02  # CoOp's random context initialisation


class PromptLearner(nn.Module):
    """Context vectors and label embeddings, composed into prompt embeddings.

    Args:
        token_embedding: CLIP's word embedding table (frozen; read once here).
        classnames: class names ordered by label; ``_`` is read as a space, as in CoOp.
        n_ctx: number of context vectors. ``None``: one per token of ``context_init`` (CoOp),
            or 16 without one. Fewer than ``context_init``'s tokens: the first ``n_ctx`` tokens become the
            context and the other words stay fixed text before the name (MaPLe).
        context_init: words to start the context from (e.g. "a photo of a").
        class_token_position: "end", "middle" or "front" (CoOp).
        class_specific_context: one context per class (CoOp's CSC).
        learn_context: train the context (CoOp) or keep it fixed (LAMM on plain CLIP).
        label_tokens: None for no label embeddings, else a mode of ``LABEL_TOKEN_MODES``.
        label_init: "word" or "random" initialisation of the label embeddings.
        label_placement: "name" (the labels take the class name's tokens) or "official" (one label
            per class right after the context, the whole name kept: the official MaPLe+LAMM
            prompt; ``label_tokens`` then only switches labels on). See ``label_embeddings``.
        class_ids: each class's index in a wider label space (see ``LabelEmbeddings``).
        truncate_after_eot: keep and build only the tokens up to the longest prompt's end-of-text
            token (exact for a text encoder that truncates the same way, see ``TextEncoder``): at
            1000 classes each full-length prompt set is 1000 x 77 x 512 values, about 160 MB.
        dtype: dtype of CLIP's text tower; the learnable tensors themselves stay float32.
        text_tokenizer: the backbone's tokenizer (``lamm.backbones.Tokenizer``); OpenAI's BPE by default.
    """

    def __init__(
        self,
        token_embedding: nn.Embedding,
        classnames: List[str],
        n_ctx: Optional[int] = None,
        context_init: str = "",
        class_token_position: str = "end",
        class_specific_context: bool = False,
        learn_context: bool = True,
        label_tokens: Optional[str] = None,
        label_init: str = "word",
        label_placement: str = "name",
        class_ids=None,
        truncate_after_eot: bool = False,
        dtype: torch.dtype = torch.float32,
        text_tokenizer=None,
    ):
        super().__init__()
        text_tokenizer = text_tokenizer or openai_tokenizer()
        start = len(text_tokenizer.start_ids)
        names = [name.replace("_", " ") for name in classnames]
        n_cls = len(names)
        embed = lambda token_ids: token_embedding(token_ids.to(token_embedding.weight.device)).detach().float()
        context_init = context_init.replace("_", " ").strip()
        init_length = count_tokens(context_init, text_tokenizer) if context_init else 0
        fixed_text = ""
        if context_init and (n_ctx is None or n_ctx <= init_length):
            n_ctx = init_length if n_ctx is None else n_ctx
            ctx = embed(tokenize([context_init], text_tokenizer))[0, start:start + n_ctx]  # (n_ctx, dim)
            fixed_text = text_tokenizer.decode(text_tokenizer.encode(context_init)[n_ctx:]).strip()
            if class_specific_context:
                ctx = ctx.unsqueeze(0).repeat(n_cls, 1, 1)  # (n_cls, n_ctx, dim)
        else:  # random context; MaPLe also falls back here when N_CTX exceeds CTX_INIT
            n_ctx = 16 if n_ctx is None else n_ctx
            dim = token_embedding.weight.shape[1]
            shape = (n_cls, n_ctx, dim) if class_specific_context else (n_ctx, dim)
            ctx = torch.randn(shape) * CONTEXT_INIT_STD
        self.n_ctx = n_ctx
        self.dtype = dtype
        self.ctx = nn.Parameter(ctx.clone(), requires_grad=learn_context)
        # The hand-made context (or the random start), for an original prompt that keeps it.
        self.register_buffer("initial_ctx", ctx.clone(), persistent=False)

        name_layout = build_prompt_layout(names, n_ctx, class_token_position, fixed_text, text_tokenizer)
        name_word_embeddings = embed(name_layout.token_ids)  # (n_cls, 77, dim)
        self.label_embeddings: Optional[LabelEmbeddings] = None
        label_layout = name_layout
        if label_tokens is not None:
            check_label_options(label_tokens, label_init, label_placement)
            options = dict(random_init=label_init == "random", class_ids=class_ids, classnames=classnames)
            if label_placement == "official":
                if class_token_position != "end":
                    raise ConfigError("The official MaPLe+LAMM label layout needs CLASS_TOKEN_POSITION end.")
                self.label_embeddings = build_official_layout_labels(name_layout, name_word_embeddings, **options)
            else:
                if label_tokens == "one":
                    label_layout = build_prompt_layout(["X"] * n_cls, n_ctx, class_token_position, fixed_text,
                                                       text_tokenizer)
                self.label_embeddings = build_label_embeddings(
                    label_tokens, name_layout, name_word_embeddings, label_layout, **options)
        layouts = (name_layout,) if label_layout is name_layout else (name_layout, label_layout)
        length = name_word_embeddings.shape[1]
        if truncate_after_eot:  # one length for both layouts, so that their prompts can be joined
            length = max(int(layout.eot_indices.max()) for layout in layouts) + 1
        self.prompt_length = length
        # Word embeddings are fixed inputs, recomputable from CLIP and the class names: not saved.
        self.register_buffer("name_word_embeddings", name_word_embeddings[:, :length].to(dtype).contiguous(),
                             persistent=False)
        self.register_buffer("name_eot_indices", name_layout.eot_indices, persistent=False)
        self.register_buffer("name_context_positions", name_layout.context_positions, persistent=False)
        self.shares_layout = label_layout is name_layout
        self._name_prefix_length = int(name_layout.name_starts.min()) if ctx.dim() == 2 else start
        if not self.shares_layout:
            self.register_buffer("label_word_embeddings", embed(label_layout.token_ids[:, :length]).to(dtype),
                                 persistent=False)
            self.register_buffer("label_eot_indices", label_layout.eot_indices, persistent=False)
            self.register_buffer("label_context_positions", label_layout.context_positions, persistent=False)

    @property
    def shared_prefix_length(self) -> int:
        """Tokens before the first class name or label: the same in every prompt when the context
        is shared, so the text encoder computes them once. Labels loaded from a checkpoint bring
        their positions, which may sit earlier (the official MaPLe+LAMM layout)."""
        if self.label_embeddings is None:
            return self._name_prefix_length
        return min(self._name_prefix_length, self.label_embeddings.first_position())

    @property
    def num_classes(self) -> int:
        return self.name_word_embeddings.shape[0]

    def context_parameters(self):
        """The tensors that shape the prompt template (not the labels)."""
        return [self.ctx]

    @property
    def learns_context(self) -> bool:
        return any(p.requires_grad for p in self.context_parameters())

    def _with_context(self, word_embeddings: torch.Tensor, context_positions: torch.Tensor,
                      ctx: torch.Tensor) -> torch.Tensor:
        n_cls = word_embeddings.shape[0]
        if ctx.dim() == 2:
            ctx = ctx.unsqueeze(0).expand(n_cls, -1, -1)  # (n_cls, n_ctx, dim)
        rows = torch.arange(n_cls, device=word_embeddings.device).unsqueeze(1)  # (n_cls, 1)
        return word_embeddings.index_put((rows, context_positions), ctx.to(word_embeddings.dtype))

    def forward(self):
        """Learned prompts: (n_cls, prompt_length, dim) embeddings and the (n_cls,) end-of-text positions."""
        if self.shares_layout:
            words, positions, eot = self.name_word_embeddings, self.name_context_positions, self.name_eot_indices
        else:
            words, positions, eot = self.label_word_embeddings, self.label_context_positions, self.label_eot_indices
        prompts = self._with_context(words, positions, self.ctx)
        if self.label_embeddings is not None:
            prompts = self.label_embeddings.write_into(prompts)
        return prompts, eot

    def original_prompts(self, initial_context: bool = False):
        """Prompts ``y_i`` with the class names' word embeddings.

        With ``initial_context`` the context is the hand-made one (the paper's reference);
        otherwise it is the current context (the official code's reference).
        """
        ctx = self.initial_ctx if initial_context else self.ctx
        return self._with_context(self.name_word_embeddings, self.name_context_positions, ctx), self.name_eot_indices

    def text_deep_prompts(self, initial_context: bool = False):
        """Prompts for the text transformer's deeper layers (none here; MaPLe has them)."""
        return None

    def vision_prompts(self):
        """Prompts for the image encoder (none here; MaPLe has them)."""
        return None

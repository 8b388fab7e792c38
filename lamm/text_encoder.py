"""CLIP's text transformer applied to prompt embeddings instead of token ids.

The forward pass is our own loop over CLIP's unmodified residual blocks, so the ``clip``
package stays untouched. Two exact shortcuts, both possible because the transformer is causal
and the feature is read at the end-of-text (EOT) token:

- ``truncate``: tokens after the longest prompt's EOT cannot change any result; they are not
  computed (a 77-token prompt is typically 10-20 tokens long).
- ``shared_prefix_length`` P: when every prompt starts with the same P tokens (``[SOS]`` and a
  shared context such as "a photo of a"), their hidden states are the same for every prompt, so
  they are computed once (batch 1) and every prompt's remaining tokens attend to them.

And one exact memory saving, ``checkpointing`` (activation checkpointing, ``torch.utils.checkpoint``
with ``use_reentrant=False``): during training only each block's input is kept, and the block's
inner activations (LayerNorms, q/k/v, attention, the 4x-wide MLP: about 16 values per token and
width) are recomputed in the backward pass. Same operations on the same inputs, so the same
numbers; the price is one more forward pass of the text tower per step.

Any backbone's text tower runs here (``lamm.backbones``): OpenAI's, open_clip's ``CLIP`` and its
``TextTransformer`` (whose blocks keep batch-first attention and may scale their residuals). The
two shortcuts are exact only for a causal tower read at the end-of-text token; for another
tower (SigLIP's bidirectional one, read at the last position) they are off.
"""
import torch
from torch import nn
from torch.utils.checkpoint import checkpoint

from .attention import attend, layer_scaled, run_block
from .backbones import as_backbone
from .backbones.base import text_dtype
from .choices import CHECKPOINTING_MODES
from .errors import ConfigError

# TRAINER.MEMORY.TEXT_CHECKPOINTING "auto" turns checkpointing on above this many classes. The
# text graph kept for backward grows by about 8 MB per class and prompt set (ViT-B/16 text tower,
# fp32, ~20 tokens after truncation): above 200 classes it is more than the rest of a step needs
# (weights and the image tower, about 1.5 GB), while below it the recompute costs time for little
# memory. Of the benchmarks only SUN397 (397) and ImageNet (1000) and its variants are above.
CHECKPOINTING_MIN_CLASSES = 200


def resolve_checkpointing(mode: str, num_classes: int) -> bool:
    """Whether the text tower checkpoints its activations for this label space."""
    if mode not in CHECKPOINTING_MODES:
        raise ConfigError(f"TRAINER.MEMORY.TEXT_CHECKPOINTING must be one of {', '.join(CHECKPOINTING_MODES)}, "
                          f"got {mode!r}.")
    return mode == "on" or (mode == "auto" and num_classes > CHECKPOINTING_MIN_CLASSES)


def causal_mask(length: int, dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    """(L, L) additive mask: -inf above the diagonal, as CLIP's build_attention_mask."""
    return torch.full((length, length), float("-inf"), dtype=dtype, device=device).triu_(1)


def run_block_with_prefix(block: nn.Module, prefix: torch.Tensor, rest: torch.Tensor, prefix_mask, rest_mask):
    """One block on a shared prefix (P, 1, D) and the tokens after it (S, N, D).

    The rest attends to the prefix's keys and values and, causally, to itself; the prefix only
    to itself. Equal to ``run_block`` on the (P + S, N, D) concatenation.
    """
    h_prefix, h_rest = block.ln_1(prefix), block.ln_1(rest)
    keys = torch.cat([h_prefix.expand(-1, rest.shape[1], -1), h_rest], dim=0)  # (P + S, N, D)
    prefix = prefix + layer_scaled(block, "ls_1", attend(block, h_prefix, h_prefix, prefix_mask))
    rest = rest + layer_scaled(block, "ls_1", attend(block, h_rest, keys, rest_mask))
    return (prefix + layer_scaled(block, "ls_2", block.mlp(block.ln_2(prefix))),
            rest + layer_scaled(block, "ls_2", block.mlp(block.ln_2(rest))))


def _replace_context(x: torch.Tensor, deep: torch.Tensor) -> torch.Tensor:
    """Put a deep prompt (n_ctx, D) at token positions 1..n_ctx of x (L, N, D)."""
    deep = deep.type(x.dtype).unsqueeze(1).expand(-1, x.shape[1], -1)  # (n_ctx, N, D)
    return torch.cat([x[:1], deep, x[1 + deep.shape[0]:]], dim=0)


class TextEncoder(nn.Module):
    """Encode (N, 77, D) prompt embeddings to (N, embed_dim) text features (not normalised)."""

    def __init__(self, clip_model: nn.Module, truncate: bool = True, share_prefix: bool = True,
                 checkpointing: bool = False):
        """``clip_model``: a ``lamm.backbones.Backbone`` or a model ``as_backbone`` reads. The two
        shortcuts stay off where they are not exact (``Backbone.prompt_shortcuts_exact``)."""
        super().__init__()
        backbone = as_backbone(clip_model)
        tower = backbone.text_tower
        self.transformer = tower.transformer
        self.positional_embedding = tower.positional_embedding
        self.ln_final = tower.ln_final
        self.text_projection = tower.text_projection
        self.causal = backbone.causal
        self.pooling = backbone.pooling
        exact = backbone.prompt_shortcuts_exact
        self.truncate = truncate and exact
        self.share_prefix = share_prefix and exact
        self.checkpointing = checkpointing

    @property
    def dtype(self) -> torch.dtype:
        return text_dtype(self)

    def _project(self, pooled: torch.Tensor) -> torch.Tensor:
        projection = self.text_projection
        if isinstance(projection, nn.Linear):  # open_clip's projection with a bias (SigLIP)
            return projection(pooled)
        return pooled if projection is None else pooled @ projection

    def _run(self, function, *args):
        # Without autograd (evaluation) nothing is kept for backward: checkpointing would only cost.
        if self.checkpointing and torch.is_grad_enabled():
            return checkpoint(function, *args, use_reentrant=False)
        return function(*args)

    def forward(self, prompts: torch.Tensor, eot_indices: torch.Tensor, deep_prompts=None,
                shared_prefix_length: int = 0) -> torch.Tensor:
        """Args:
            prompts: (N, 77, D) prompt embeddings.
            eot_indices: (N,) position of each prompt's end-of-text token.
            deep_prompts: optional list of (n_ctx, D) tensors; entry i replaces the context
                tokens (positions 1..n_ctx) at the input of layer i+1 (MaPLe's deep prompts).
            shared_prefix_length: P, the number of leading tokens identical in every prompt
                (deep prompts included); used only with ``share_prefix``.
        """
        length = int(eot_indices.max()) + 1 if self.truncate else prompts.shape[1]
        x = prompts[:, :length].type(self.dtype) + self.positional_embedding[:length].type(self.dtype)
        x = x.permute(1, 0, 2)  # (N, L, D) -> (L, N, D)
        deep_prompts = deep_prompts or []
        prefix_length = shared_prefix_length if self.share_prefix else 0
        n_ctx = deep_prompts[0].shape[0] if deep_prompts else 0
        if prefix_length > max(1, n_ctx) and x.shape[1] > 1 and prefix_length < length:
            x = self._forward_with_prefix(x, deep_prompts, prefix_length)
            eot_indices = eot_indices - prefix_length
        else:
            mask = causal_mask(length, x.dtype, x.device) if self.causal else None
            for layer, block in enumerate(self.transformer.resblocks):
                if 1 <= layer <= len(deep_prompts):
                    x = _replace_context(x, deep_prompts[layer - 1])
                x = self._run(run_block, block, x, mask)
        x = x.permute(1, 0, 2)  # (L, N, D) -> (N, L, D)
        x = self.ln_final(x).type(self.dtype)
        if self.pooling == "last":
            return self._project(x[:, -1])
        if self.pooling == "first":
            return self._project(x[:, 0])
        rows = torch.arange(x.shape[0], device=x.device)
        return self._project(x[rows, eot_indices.to(x.device)])

    def _forward_with_prefix(self, x: torch.Tensor, deep_prompts, prefix_length: int) -> torch.Tensor:
        prefix, rest = x[:prefix_length, :1], x[prefix_length:]  # (P, 1, D), (S, N, D)
        rest_length = rest.shape[0]
        prefix_mask = causal_mask(prefix_length, x.dtype, x.device)
        rest_mask = torch.cat([
            torch.zeros(rest_length, prefix_length, dtype=x.dtype, device=x.device),  # the prefix is visible
            causal_mask(rest_length, x.dtype, x.device),
        ], dim=1)  # (S, P + S)
        for layer, block in enumerate(self.transformer.resblocks):
            if 1 <= layer <= len(deep_prompts):
                prefix = _replace_context(prefix, deep_prompts[layer - 1])
            prefix, rest = self._run(run_block_with_prefix, block, prefix, rest, prefix_mask, rest_mask)
        return rest

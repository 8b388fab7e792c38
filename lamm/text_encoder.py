"""CLIP's text transformer applied to prompt embeddings instead of token ids.

The forward pass is our own loop over CLIP's unmodified residual blocks, so the ``clip``
package stays untouched. Because the transformer is causal and the feature is read at the
end-of-text token, tokens after the longest prompt's end-of-text token cannot change any
result: with ``truncate`` (default) they are not computed at all.
"""
import torch
from torch import nn


def causal_mask(length: int, dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    """(L, L) additive mask: -inf above the diagonal, as CLIP's build_attention_mask."""
    return torch.full((length, length), float("-inf"), dtype=dtype, device=device).triu_(1)


def run_block(block: nn.Module, x: torch.Tensor, attn_mask=None) -> torch.Tensor:
    """One CLIP ``ResidualAttentionBlock`` on x (L, N, D) with an explicit attention mask."""
    h = block.ln_1(x)
    x = x + block.attn(h, h, h, need_weights=False, attn_mask=attn_mask)[0]
    return x + block.mlp(block.ln_2(x))


class TextEncoder(nn.Module):
    """Encode (N, 77, D) prompt embeddings to (N, embed_dim) text features (not normalised)."""

    def __init__(self, clip_model: nn.Module, truncate: bool = True):
        super().__init__()
        self.transformer = clip_model.transformer
        self.positional_embedding = clip_model.positional_embedding
        self.ln_final = clip_model.ln_final
        self.text_projection = clip_model.text_projection
        self.truncate = truncate

    @property
    def dtype(self) -> torch.dtype:
        return self.text_projection.dtype

    def forward(self, prompts: torch.Tensor, eot_indices: torch.Tensor, deep_prompts=None) -> torch.Tensor:
        """Args:
            prompts: (N, 77, D) prompt embeddings.
            eot_indices: (N,) position of each prompt's end-of-text token.
            deep_prompts: optional list of (n_ctx, D) tensors; entry i replaces the context
                tokens (positions 1..n_ctx) at the input of layer i+1 (MaPLe's deep prompts).
        """
        length = int(eot_indices.max()) + 1 if self.truncate else prompts.shape[1]
        x = prompts[:, :length].type(self.dtype) + self.positional_embedding[:length].type(self.dtype)
        x = x.permute(1, 0, 2)  # (N, L, D) -> (L, N, D)
        mask = causal_mask(length, x.dtype, x.device)
        deep_prompts = deep_prompts or []
        for layer, block in enumerate(self.transformer.resblocks):
            if 1 <= layer <= len(deep_prompts):
                deep = deep_prompts[layer - 1].type(x.dtype)  # (n_ctx, D)
                n_ctx = deep.shape[0]
                deep = deep.unsqueeze(1).expand(-1, x.shape[1], -1)  # (n_ctx, N, D)
                x = torch.cat([x[:1], deep, x[1 + n_ctx:]], dim=0)
            x = run_block(block, x, mask)
        x = x.permute(1, 0, 2)  # (L, N, D) -> (N, L, D)
        x = self.ln_final(x).type(self.dtype)
        rows = torch.arange(x.shape[0], device=x.device)
        return x[rows, eot_indices.to(x.device)] @ self.text_projection

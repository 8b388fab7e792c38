"""One residual attention block of a CLIP tower, run over (L, N, D) tokens with an explicit mask.

Shared by the text encoder and the prompted vision transformer: OpenAI's blocks and open_clip's
(batch-first attention, optional layer scale) run through the same operations.
"""
import torch
import torch.nn.functional as F
from torch import nn


def attend(block: nn.Module, query: torch.Tensor, keys: torch.Tensor, attn_mask=None) -> torch.Tensor:
    """The block's attention of query (Lq, N, D) over keys = values (Lk, N, D).

    OpenAI's blocks take (L, N, D); open_clip's take (N, L, D) (``batch_first``), so for those the
    same functional attention is called on (L, N, D) directly: the same operations on the same
    layout as OpenAI's, hence the same numbers for the same weights.
    """
    attn = block.attn
    if not attn.batch_first:
        return attn(query, keys, keys, need_weights=False, attn_mask=attn_mask)[0]
    return F.multi_head_attention_forward(
        query, keys, keys, attn.embed_dim, attn.num_heads, attn.in_proj_weight, attn.in_proj_bias,
        attn.bias_k, attn.bias_v, attn.add_zero_attn, attn.dropout, attn.out_proj.weight, attn.out_proj.bias,
        training=attn.training, need_weights=False, attn_mask=attn_mask)[0]


def layer_scaled(block: nn.Module, name: str, x: torch.Tensor) -> torch.Tensor:
    # open_clip's layer scale (ls_1, ls_2: an identity unless the model sets ls_init_value)
    scale = getattr(block, name, None)
    return x if scale is None else scale(x)


def run_block(block: nn.Module, x: torch.Tensor, attn_mask=None) -> torch.Tensor:
    """One CLIP ``ResidualAttentionBlock`` on x (L, N, D) with an explicit attention mask."""
    h = block.ln_1(x)
    x = x + layer_scaled(block, "ls_1", attend(block, h, h, attn_mask))
    return x + layer_scaled(block, "ls_2", block.mlp(block.ln_2(x)))

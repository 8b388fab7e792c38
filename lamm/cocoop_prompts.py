"""CoCoOp's conditional prompts (Zhou et al., "Conditional Prompt Learning for Vision-Language
Models", CVPR 2022): a Meta-Net turns each image's feature into a shift π(x) of the context.

The prompt of class i for image x is ``[SOS] v_1+π(x) .. v_M+π(x) <name_i> . [EOS]``: one shift,
added to every context vector. So every image needs its own prompt for every class, and its own
text features (``lamm/cocoop_model.py`` encodes them). With LAMM's label embeddings
(CoCoOp + LAMM) the class name's tokens are the labels ``<M_i>``, as in CoOp + LAMM.

Parameter names are the CoOp repository's (``ctx``, ``meta_net.linear1.*``,
``meta_net.linear2.*``), so checkpoints move both ways.
"""
from collections import OrderedDict

import torch
from torch import nn

from .prompt_learner import PromptLearner

META_NET_REDUCTION = 16  # the hidden layer is 1/16 of the image feature width (CoCoOp)


class MetaNet(nn.Sequential):
    """π: image feature (B, image_dim) -> context shift (B, ctx_dim); Linear-ReLU-Linear."""

    def __init__(self, image_dim: int, ctx_dim: int):
        hidden = image_dim // META_NET_REDUCTION
        super().__init__(OrderedDict([
            ("linear1", nn.Linear(image_dim, hidden)),
            ("relu", nn.ReLU(inplace=True)),
            ("linear2", nn.Linear(hidden, ctx_dim)),
        ]))


class ConditionalPromptLearner(PromptLearner):
    """A ``PromptLearner`` whose context is shifted per image by a ``MetaNet``.

    Args are ``PromptLearner``'s (context at the end, one shared context: CoCoOp's only prompt),
    plus ``image_dim``, the width of CLIP's image features (the Meta-Net's input). The context
    is always learned. The Meta-Net is built after the context, so a seed gives the CoOp
    repository's initial weights.
    """

    def __init__(self, token_embedding: nn.Embedding, classnames, image_dim: int, **options):
        for fixed in ("class_token_position", "class_specific_context", "learn_context"):
            if fixed in options:
                raise TypeError(f"CoCoOp's prompt has no {fixed} option")
        super().__init__(token_embedding, classnames, **options)
        self.meta_net = MetaNet(image_dim, token_embedding.weight.shape[1])

    def context_parameters(self):
        return [self.ctx, *self.meta_net.parameters()]

    def conditioned_context(self, image_features: torch.Tensor) -> torch.Tensor:
        """(B, n_ctx, dim): the context shifted by each image's π(x), in float32."""
        shift = self.meta_net(image_features.float())  # (B, dim)
        return self.ctx.unsqueeze(0) + shift.unsqueeze(1)  # (1, n_ctx, dim) + (B, 1, dim)

    def prompts_with_context(self, ctx: torch.Tensor):
        """Learned prompts (labels, if any, in place of the names) for one image's context (n_ctx, dim):
        (n_cls, prompt_length, dim) embeddings and the (n_cls,) end-of-text positions."""
        if self.shares_layout:
            words, positions, eot = self.name_word_embeddings, self.name_context_positions, self.name_eot_indices
        else:
            words, positions, eot = self.label_word_embeddings, self.label_context_positions, self.label_eot_indices
        prompts = self._with_context(words, positions, ctx)
        if self.label_embeddings is not None:
            prompts = self.label_embeddings.write_into(prompts)
        return prompts, eot

    def original_prompts_with_context(self, ctx: torch.Tensor):
        """Prompts with the class names' own words for one image's context (n_ctx, dim)."""
        return self._with_context(self.name_word_embeddings, self.name_context_positions, ctx), self.name_eot_indices

    def forward(self):
        raise TypeError("CoCoOp's prompts depend on the image: use conditioned_context and prompts_with_context.")

"""CLIP with CoCoOp's conditional prompts: per-image text features and the logits between them.

For image x the logits are ``τ · f(x) · g(t_i(x))`` with the prompts ``t_i(x)`` of
``lamm/cocoop_prompts.py``. Each image's n_cls prompts go through the text tower together, one
image after the other, as the CoOp repository computes them. The exact shortcuts then act per
image: truncation after the last end-of-text token, the ``[SOS]`` + context prefix (the same
for all the classes of one image) computed once per image, and text checkpointing.

The original prompt ``y_i`` of CoCoOp + LAMM (``original_uses_initial_context``): "current"
(False) is the class name with the same conditioned context as the learned prompt, per image;
"initial" (True) the hand-made context without any shift, the same for every image (its
features are computed once). See docs/COCOOP.md.
"""
from typing import Dict, Optional

import torch

from .cocoop_prompts import ConditionalPromptLearner
from .errors import ConfigError
from .model import PromptedCLIP


class ConditionalPromptedCLIP(PromptedCLIP):
    """``PromptedCLIP`` for a ``ConditionalPromptLearner``: text features per image."""

    prompt_learner: ConditionalPromptLearner
    per_image_prompts = True  # no (n_cls, D) classifier for all images (export refuses, predict runs forward)

    def text_features(self) -> torch.Tensor:
        # Reached by tools that expect one classifier for all images (export, predict): say why not.
        raise ConfigError("CoCoOp's text features depend on each image: a CoCoOp model has no fixed (n_cls, D) "
                          "classifier; classify images with the model itself (conditional_text_features).")

    def _encode_per_image(self, contexts: torch.Tensor, with_original: bool):
        """(B, n_cls, E) learned and (with_original) original features for (B, n_ctx, dim) contexts."""
        learner = self.prompt_learner
        learned, original = [], []
        for ctx in contexts:  # one image's prompts at a time: the CoOp repository's loop
            prompts, eot = learner.prompts_with_context(ctx)
            if not with_original:
                learned.append(self._encode((prompts, eot)))
                continue
            names, names_eot = learner.original_prompts_with_context(ctx)
            if self.shortcuts.share_prompt_prefix:  # one pass: both sets share [SOS] + context
                both = self._encode((torch.cat([prompts, names]), torch.cat([eot, names_eot])))
                learned.append(both[:prompts.shape[0]])
                original.append(both[prompts.shape[0]:])
            else:
                learned.append(self._encode((prompts, eot)))
                original.append(self._encode((names, names_eot)))
        return torch.stack(learned), (torch.stack(original) if with_original else None)

    def conditional_text_features(self, image_features: torch.Tensor) -> torch.Tensor:
        """(B, n_cls, E) normalised features of each image's learned prompts."""
        contexts = self.prompt_learner.conditioned_context(image_features)
        return self._encode_per_image(contexts, with_original=False)[0]

    def conditional_logits(self, image_features: torch.Tensor, text_features: torch.Tensor) -> torch.Tensor:
        """(B, n_cls): image b against its own (n_cls, E) text features, or against shared (n_cls, E) ones."""
        if text_features.dim() == 2:
            return self.logits(image_features, text_features)
        return torch.stack([self.logits(image, text) for image, text in zip(image_features, text_features)])

    def classify(self, image_features: torch.Tensor) -> torch.Tensor:
        """(B, n_cls) logits for normalised image features (B, E)."""
        return self.conditional_logits(image_features, self.conditional_text_features(image_features))

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.classify(self.encode_images(images))

    def forward_features(self, images: torch.Tensor, with_original: bool = True) -> Dict[str, Optional[torch.Tensor]]:
        """What the (hierarchical) loss needs: features are (B, n_cls, E), per image, except a
        constant original prompt's (n_cls, E)."""
        image_features = self.encode_images(images)
        contexts = self.prompt_learner.conditioned_context(image_features)
        per_image_original = with_original and not self.original_uses_initial_context
        text_features, original = self._encode_per_image(contexts, per_image_original)
        if with_original and original is None:
            original = self.original_text_features()  # the hand-made context: computed once
        return {
            "image_features": image_features,
            "text_features": text_features,
            "logits": self.conditional_logits(image_features, text_features),
            "original_text_features": original,
            "original_logits": None if original is None else self.conditional_logits(image_features, original),
            **self.label_outputs(),
        }

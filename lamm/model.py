"""CLIP with a prompt learner: image features, text features of the learned and the original
prompts, and the logits between them (paper Eq. 3)."""
from typing import Dict, Optional

import torch
import torch.nn.functional as F
from torch import nn

from .prompt_learner import PromptLearner
from .text_encoder import TextEncoder
from .vision_encoder import PromptedVisionTransformer


def _parameter_versions(module: nn.Module):
    # In-place updates (optimizer steps, load_state_dict) bump a tensor's version counter, so
    # this key changes exactly when a cached text feature could have become stale.
    return tuple((id(p), p._version) for p in module.parameters())


class PromptedCLIP(nn.Module):
    """Frozen CLIP towers around a ``PromptLearner``.

    Args:
        clip_model: a CLIP model from ``clip.model.build_model``.
        prompt_learner: composes the prompts; its learnable tensors are the only ones trained.
        truncate_prompts: skip the tokens after the last end-of-text token (exact).
        original_uses_initial_context: the original prompt ``y_i`` keeps the hand-made context
            (paper) rather than the current learned one (official code).
    """

    def __init__(self, clip_model: nn.Module, prompt_learner: PromptLearner, truncate_prompts: bool = True,
                 original_uses_initial_context: bool = False):
        super().__init__()
        self.image_encoder = clip_model.visual
        # Used only when the prompt learner has vision prompts (MaPLe); shares the weights.
        self.prompted_image_encoder = None
        if prompt_learner.vision_prompts() is not None:
            self.prompted_image_encoder = PromptedVisionTransformer(clip_model.visual)
        self.text_encoder = TextEncoder(clip_model, truncate=truncate_prompts)
        self.prompt_learner = prompt_learner
        self.logit_scale = clip_model.logit_scale
        self.original_uses_initial_context = original_uses_initial_context
        self._caches: Dict[str, tuple] = {}

    @property
    def dtype(self) -> torch.dtype:
        return self.text_encoder.dtype

    def encode_images(self, images: torch.Tensor) -> torch.Tensor:
        images = images.type(self.dtype)
        if self.prompted_image_encoder is None:
            return F.normalize(self.image_encoder(images), dim=-1)
        shared, deep = self.prompt_learner.vision_prompts()
        return F.normalize(self.prompted_image_encoder(images, shared, deep), dim=-1)

    def _encode(self, prompts_and_eot, initial_context: bool = False) -> torch.Tensor:
        prompts, eot = prompts_and_eot
        deep = self.prompt_learner.text_deep_prompts(initial_context)
        return F.normalize(self.text_encoder(prompts, eot, deep_prompts=deep), dim=-1)

    def _cached(self, name: str, compute, key) -> torch.Tensor:
        cached = self._caches.get(name)
        if cached is not None and cached[0] == key and cached[1].device == self.logit_scale.device:
            return cached[1]
        with torch.no_grad():
            value = compute()
        self._caches[name] = (key, value)
        return value

    def text_features(self) -> torch.Tensor:
        """(n_cls, embed_dim) normalised features of the learned prompts ``z_i``.

        Without autograd (evaluation) they are computed once per parameter state, not per batch.
        """
        compute = lambda: self._encode(self.prompt_learner())
        if torch.is_grad_enabled():
            return compute()
        return self._cached("text", compute, _parameter_versions(self.prompt_learner))

    @property
    def original_features_are_constant(self) -> bool:
        return self.original_uses_initial_context or not self.prompt_learner.learns_context

    def original_text_features(self) -> torch.Tensor:
        """(n_cls, embed_dim) normalised features of the original prompts ``y_i``.

        Constant when the context is fixed or the hand-made one is used: then computed once.
        """
        initial = self.original_uses_initial_context
        compute = lambda: self._encode(self.prompt_learner.original_prompts(initial), initial)
        if self.original_features_are_constant or not torch.is_grad_enabled():
            context = self.prompt_learner.context_parameters()
            key = ("initial",) if initial else ("current",) + tuple((id(p), p._version) for p in context)
            return self._cached("original", compute, key)
        return compute()

    def logits(self, image_features: torch.Tensor, text_features: torch.Tensor) -> torch.Tensor:
        return self.logit_scale.exp() * image_features @ text_features.t()

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """(B, n_cls) logits of the learned prompts."""
        return self.logits(self.encode_images(images), self.text_features())

    def forward_features(self, images: torch.Tensor, with_original: bool = True) -> Dict[str, Optional[torch.Tensor]]:
        """Everything the hierarchical loss needs for a batch, in one pass."""
        image_features = self.encode_images(images)
        text_features = self.text_features()
        outputs = {
            "image_features": image_features,
            "text_features": text_features,
            "logits": self.logits(image_features, text_features),
            "original_text_features": None,
            "original_logits": None,
        }
        if with_original:
            original = self.original_text_features()
            outputs["original_text_features"] = original
            outputs["original_logits"] = self.logits(image_features, original)
        return outputs

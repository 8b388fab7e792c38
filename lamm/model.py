"""CLIP with a prompt learner: image features, text features of the learned and the original
prompts, and the logits between them (paper Eq. 3)."""
from dataclasses import dataclass, replace
from typing import Dict, Optional

import torch
import torch.nn.functional as F
from torch import nn

from .backbones import as_backbone
from .errors import ConfigError
from .prompt_learner import PromptLearner
from .text_encoder import TextEncoder
from .vision_encoder import PromptedVisionTransformer


def _parameter_versions(module: nn.Module):
    # In-place updates (optimizer steps, load_state_dict) bump a tensor's version counter, so
    # this key changes exactly when a cached text feature could have become stale.
    return tuple((id(p), p._version) for p in module.parameters())


@dataclass(frozen=True)
class Shortcuts:
    """Exact savings, each switchable; all off computes what the official code computes."""

    truncate_prompts: bool = True  # no work after the longest prompt's end-of-text token
    share_prompt_prefix: bool = True  # the tokens every prompt shares are computed once
    cache_constant_text: bool = True  # text features that cannot change are computed once
    cache_test_image_features: bool = True  # prompt-free image features of a test set, once


OFFICIAL = Shortcuts(False, False, False, False)


def inexact_shortcuts(shortcuts: Shortcuts, backbone) -> list:
    """Config names of the requested shortcuts that ``backbone`` turns off (not exact there)."""
    if backbone.prompt_shortcuts_exact:
        return []
    return [name for name, on in (("TRUNCATE_PROMPTS", shortcuts.truncate_prompts),
                                  ("SHARE_PROMPT_PREFIX", shortcuts.share_prompt_prefix)) if on]


def exact_shortcuts(shortcuts: Shortcuts, backbone) -> Shortcuts:
    """``shortcuts`` without those that are not exact on ``backbone``: truncation after the
    end-of-text token and the shared prefix need a causal text tower read at that token."""
    if backbone.prompt_shortcuts_exact:
        return shortcuts
    return replace(shortcuts, truncate_prompts=False, share_prompt_prefix=False)


class PromptedCLIP(nn.Module):
    """Frozen CLIP towers around a ``PromptLearner``.

    Args:
        clip_model: a ``lamm.backbones.Backbone`` (OpenAI's CLIP or an open_clip model), or a CLIP model
            from ``clip.model.build_model``.
        prompt_learner: composes the prompts; its learnable tensors are the only ones trained.
        shortcuts: which exact savings to use.
        original_uses_initial_context: the original prompt ``y_i`` keeps the hand-made context
            (paper) rather than the current learned one (official code).
        text_checkpointing: recompute the text tower's activations in backward instead of
            keeping them (exact; see ``lamm.text_encoder``).
    """

    def __init__(self, clip_model: nn.Module, prompt_learner: PromptLearner, shortcuts: Shortcuts = Shortcuts(),
                 original_uses_initial_context: bool = False, text_checkpointing: bool = False):
        super().__init__()
        backbone = as_backbone(clip_model)  # any backbone (lamm.backbones); an OpenAI CLIP as before
        shortcuts = exact_shortcuts(shortcuts, backbone)
        if not shortcuts.truncate_prompts and prompt_learner.prompt_length < backbone.context_length:
            # The official computation runs all 77 tokens; a truncated learner no longer has them.
            raise ValueError("A prompt learner built with truncate_after_eot needs Shortcuts(truncate_prompts=True).")
        self.image_encoder = backbone.image_encoder
        # Used only when the prompt learner has vision prompts (MaPLe); shares the weights.
        self.prompted_image_encoder = None
        if prompt_learner.vision_prompts() is not None:
            if backbone.vision_transformer is None:
                raise ConfigError(f"MaPLe prompts a vision transformer in OpenAI's layout; {backbone.name or 'this'} "
                                  "backbone has none.")
            self.prompted_image_encoder = PromptedVisionTransformer(backbone.vision_transformer)
        self.shortcuts = shortcuts
        self.text_encoder = TextEncoder(backbone, truncate=shortcuts.truncate_prompts,
                                        share_prefix=shortcuts.share_prompt_prefix, checkpointing=text_checkpointing)
        self.prompt_learner = prompt_learner
        self.logit_scale = backbone.logit_scale
        self.logit_bias = backbone.logit_bias  # None for OpenAI's CLIP; SigLIP's is learned
        self.original_uses_initial_context = original_uses_initial_context
        self._caches: Dict[str, tuple] = {}
        self._test_image_features: Dict[str, torch.Tensor] = {}  # image path -> feature (test_logits)

    @property
    def dtype(self) -> torch.dtype:
        return self.text_encoder.dtype

    def encode_images(self, images: torch.Tensor, vision_prompts=None) -> torch.Tensor:
        """(B, 3, H, W) -> (B, D) normalised; MaPLe's ``vision_prompts`` are built here unless given."""
        images = images.type(self.dtype)
        if self.prompted_image_encoder is None:
            return F.normalize(self.image_encoder(images), dim=-1)
        shared, deep = self.prompt_learner.vision_prompts() if vision_prompts is None else vision_prompts
        return F.normalize(self.prompted_image_encoder(images, shared, deep), dim=-1)

    def _encode(self, prompts_and_eot, initial_context: bool = False) -> torch.Tensor:
        prompts, eot = prompts_and_eot
        deep = self.prompt_learner.text_deep_prompts(initial_context)
        features = self.text_encoder(prompts, eot, deep_prompts=deep,
                                     shared_prefix_length=self.prompt_learner.shared_prefix_length)
        return F.normalize(features, dim=-1)

    def _encode_learned_and_original(self):
        """Both prompt sets in one pass (they share their prefix): (n_cls, D) features each."""
        learned, learned_eot = self.prompt_learner()
        original, original_eot = self.prompt_learner.original_prompts(initial_context=False)
        if self.text_encoder.truncate:
            # Cut before the cat, not after: the joined (2·n_cls, 77, D) copy is ~1 GB at 1000
            # classes; the encoder drops the same tokens anyway (after the longest EOT).
            length = int(torch.maximum(learned_eot.max(), original_eot.max())) + 1
            learned, original = learned[:, :length], original[:, :length]
        both = self._encode((torch.cat([learned, original]), torch.cat([learned_eot, original_eot])))
        return both[:learned.shape[0]], both[learned.shape[0]:]

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
        if torch.is_grad_enabled() or not self.shortcuts.cache_constant_text:
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
        if not self.shortcuts.cache_constant_text:
            return compute()
        if self.original_features_are_constant or not torch.is_grad_enabled():
            context = self.prompt_learner.context_parameters()
            key = ("initial",) if initial else ("current",) + tuple((id(p), p._version) for p in context)
            return self._cached("original", compute, key)
        return compute()

    def logits(self, image_features: torch.Tensor, text_features: torch.Tensor) -> torch.Tensor:
        logits = self.logit_scale.exp() * image_features @ text_features.t()
        return logits if self.logit_bias is None else logits + self.logit_bias

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """(B, n_cls) logits of the learned prompts."""
        return self.logits(self.encode_images(images), self.text_features())

    def forward_features(self, images: torch.Tensor, with_original: bool = True) -> Dict[str, Optional[torch.Tensor]]:
        """Everything the hierarchical loss needs for a batch, in one pass.

        Without the shortcuts, in the official code's order: the learned prompts, MaPLe's vision
        prompts, the text encoder, the image encoder. Autograd sums the gradient contributions of a
        tensor used several times (MaPLe's ``ctx``, deep text prompts) in an order set by this one,
        so only this order gives the official gradients bit for bit.
        """
        joint = (with_original and torch.is_grad_enabled() and self.shortcuts.share_prompt_prefix
                 and not self.original_features_are_constant)
        vision_prompts = None
        if joint:
            text_features, original = self._encode_learned_and_original()
        elif torch.is_grad_enabled():
            prompts = self.prompt_learner()
            vision_prompts = self.prompt_learner.vision_prompts()
            text_features = self._encode(prompts)
        else:
            text_features = self.text_features()
        image_features = self.encode_images(images, vision_prompts)
        outputs = {
            "image_features": image_features,
            "text_features": text_features,
            "logits": self.logits(image_features, text_features),
            "original_text_features": None,
            "original_logits": None,
            **self.label_outputs(),
        }
        if with_original:
            if not joint:
                original = self.original_text_features()
            outputs["original_text_features"] = original
            outputs["original_logits"] = self.logits(image_features, original)
        return outputs

    def label_outputs(self) -> Dict[str, Optional[torch.Tensor]]:
        """The label embeddings' vectors and anchor (L_WC's inputs); None without labels."""
        labels = self.prompt_learner.label_embeddings
        if labels is None:
            return {"label_vectors": None, "label_anchor": None}
        return {"label_vectors": labels.vectors, "label_anchor": labels.anchor}

    def classify(self, image_features: torch.Tensor) -> torch.Tensor:
        """(B, n_cls) logits for normalised (B, D) image features."""
        return self.logits(image_features, self.text_features())

    def test_logits(self, images: torch.Tensor, paths) -> torch.Tensor:
        """(B, n_cls) logits of test ``images`` read from ``paths`` (B file names); what ``forward`` returns.

        Test transforms are deterministic and, without vision prompts, the image tower is frozen:
        an image's feature is the same in every evaluation of the run (e.g. Set 1 before and
        after stage 2), so with ``cache_test_image_features`` it is computed once, keyed by path.
        """
        if self.prompted_image_encoder is not None or not self.shortcuts.cache_test_image_features:
            return self(images)
        cache = self._test_image_features
        missing = [i for i, path in enumerate(paths) if path not in cache]
        if missing:
            features = self.encode_images(images[missing])
            cache.update({paths[i]: features[row] for row, i in enumerate(missing)})
        return self.classify(torch.stack([cache[path] for path in paths]))

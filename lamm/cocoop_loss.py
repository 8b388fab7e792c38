"""LAMM's hierarchical loss for per-image text features (CoCoOp + LAMM).

Only the feature-space term changes: with CoCoOp, class i has a text feature per image, so
``L_COS`` compares, for each image, its learned prompt features with its original prompt
features (``lamm/hierarchical_loss.py`` does it once per class):

- ``official`` reduction: the mean over the samples whose batch holds another label of
  ``1 - cos(ψ(z_{y_b}(x_b)), ψ(y_{y_b}(x_b)))``, each sample's own class under its own image;
- ``paper`` reduction: Eq. 6's sum over all classes, for each image, averaged over the images.

With the same features for every image both equal the per-class loss. ``L_CE``, ``L_WC`` and
``L_KD`` (per-sample logits) are unchanged.
"""
import dataclasses

import torch
import torch.nn.functional as F

from .hierarchical_loss import HierarchicalLoss


def per_image_feature_alignment_loss(text_features: torch.Tensor, original_text_features: torch.Tensor,
                                     labels: torch.Tensor, reduction: str = "official") -> torch.Tensor:
    """Args:
        text_features: (B, n_cls, D) features of each image's learned prompts.
        original_text_features: (B, n_cls, D) per image, or (n_cls, D) the same for every image
            (detached here).
        labels: (B,) labels of the batch.
    """
    original = original_text_features.detach()
    if original.dim() == 2:
        original = original.unsqueeze(0).expand_as(text_features)  # (B, n_cls, D)
    if reduction == "paper":
        cos = F.cosine_similarity(text_features.float(), original.float(), dim=-1)  # (B, n_cls)
        return (1 - cos).sum(dim=1).mean()
    has_other_label = (labels.unsqueeze(1) != labels.unsqueeze(0)).any(dim=1)  # (B,)
    if not has_other_label.any():
        return text_features.new_zeros((), dtype=torch.float32)
    samples = torch.arange(labels.shape[0], device=labels.device)[has_other_label]
    chosen = labels[has_other_label]
    cos = F.cosine_similarity(text_features[samples, chosen].float(), original[samples, chosen].float(), dim=-1)
    return (1 - cos).mean()


@dataclasses.dataclass
class PerImageHierarchicalLoss(HierarchicalLoss):
    """``HierarchicalLoss`` whose ``L_COS`` also takes (B, n_cls, D) text features."""

    def _feature_alignment(self, outputs, labels: torch.Tensor) -> torch.Tensor:
        if outputs["text_features"].dim() == 2:
            return super()._feature_alignment(outputs, labels)
        return per_image_feature_alignment_loss(outputs["text_features"], outputs["original_text_features"],
                                                labels, self.cos_reduction)

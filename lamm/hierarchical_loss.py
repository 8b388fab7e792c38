"""The hierarchical loss of LAMM (paper Eq. 5-9): ``CE + λ1·L_WC + λ2·L_COS + λ3·L_KD``.

Each term is computed as the official code computes it, since the paper's numbers come from it;
where the paper's formula differs, the paper's form is an option:

- ``L_WC`` (parameter space): sum of squared differences between the label embeddings and
  their starting values, over every class (not only those in the batch).
- ``L_COS`` (feature space): ``1 - cos(ψ(z_i), ψ(y_i))`` with ``ψ(y_i)`` detached.
  ``official``: mean over the *samples* of the batch whose batch holds another label (0 for a
  single-label batch). ``paper``: sum over all classes (Eq. 6).
- ``L_KD`` (logits space): soft-target cross-entropy at temperature T, times T².
  ``official``: the target distribution comes from the learned logits and the input from the
  original-prompt logits, with gradients through both. ``teacher``: the usual direction, the
  original-prompt logits (detached) teach the learned ones.
"""
from dataclasses import dataclass
from typing import Callable, Dict, Optional, Tuple

import torch
import torch.nn.functional as F

from .errors import ConfigError

COS_REDUCTIONS = ("official", "paper")
KD_DIRECTIONS = ("official", "teacher")


def weight_consolidation_loss(vectors: torch.Tensor, anchor: torch.Tensor) -> torch.Tensor:
    """Sum of squared differences (any shape); the anchor gets no gradient."""
    return F.mse_loss(vectors.float(), anchor.detach().float(), reduction="sum")


def feature_alignment_loss(text_features: torch.Tensor, original_text_features: torch.Tensor,
                           labels: torch.Tensor, reduction: str = "official") -> torch.Tensor:
    """Cosine distance between learned and original class text features.

    Args:
        text_features: (n_cls, D) features of the learned prompts.
        original_text_features: (n_cls, D) features of the original prompts (detached here).
        labels: (B,) labels of the batch (used by the ``official`` reduction).
    """
    if reduction == "paper":
        cos = F.cosine_similarity(text_features.float(), original_text_features.detach().float(), dim=-1)
        return (1 - cos).sum()
    has_other_label = (labels.unsqueeze(1) != labels.unsqueeze(0)).any(dim=1)  # (B,)
    if not has_other_label.any():
        return text_features.new_zeros((), dtype=torch.float32)
    chosen = labels[has_other_label]
    cos = F.cosine_similarity(
        text_features[chosen].float(), original_text_features[chosen].detach().float(), dim=-1
    )  # (B',)
    return (1 - cos).mean()


def logit_distillation_loss(logits: torch.Tensor, original_logits: torch.Tensor, temperature: float = 2.0,
                            direction: str = "official") -> torch.Tensor:
    """Soft-target cross-entropy between (B, n_cls) logits at ``temperature``, times T²."""
    logits, original_logits = logits.float(), original_logits.float()
    if direction == "official":
        target, inputs = F.softmax(logits / temperature, dim=1), original_logits
    else:
        target, inputs = F.softmax(original_logits.detach() / temperature, dim=1), logits
    return F.cross_entropy(inputs / temperature, target) * temperature ** 2


Outputs = Dict[str, Optional[torch.Tensor]]  # PromptedCLIP.forward_features
Term = Callable[[Outputs, torch.Tensor], Optional[torch.Tensor]]  # (outputs, labels) -> term or None


def cross_entropy_term(outputs: Outputs, labels: torch.Tensor) -> torch.Tensor:
    return F.cross_entropy(outputs["logits"].float(), labels)


@dataclass
class HierarchicalLoss:
    """The named, weighted loss terms; ``criterion(outputs, labels)`` returns them by name.

    ``terms`` maps each name, in order, to ``(weight, fn)``, with ``fn(outputs, labels)`` a
    function of the model's outputs (``PromptedCLIP.forward_features``) and the batch labels.
    A weight of 0 switches a term off (it is not computed). A method adds a term of its own with
    ``add_term``, or overrides one term's method for a variant of it (e.g. ``L_COS`` per image);
    the training step stays as it is.

    ``lambda_wc`` is λ1 (the paper: 1/shots), ``lambda_cos`` λ2 and ``lambda_kd`` λ3.
    """

    lambda_wc: float = 1.0
    lambda_cos: float = 1.0
    lambda_kd: float = 0.05
    kd_temperature: float = 2.0
    cos_reduction: str = "official"
    kd_direction: str = "official"

    def __post_init__(self):
        if self.cos_reduction not in COS_REDUCTIONS:
            raise ConfigError(f"Unknown L_COS reduction {self.cos_reduction!r}; choose one of {', '.join(COS_REDUCTIONS)}.")
        if self.kd_direction not in KD_DIRECTIONS:
            raise ConfigError(f"Unknown L_KD direction {self.kd_direction!r}; choose one of {', '.join(KD_DIRECTIONS)}.")
        if min(self.lambda_wc, self.lambda_cos, self.lambda_kd) < 0:
            raise ConfigError("Loss weights must be >= 0 (0 switches a term off).")
        if self.kd_temperature <= 0:
            raise ConfigError(f"The L_KD temperature must be > 0, got {self.kd_temperature}.")
        self.terms: Dict[str, Tuple[float, Term]] = {}  # not a field: a copy (dataclasses.replace) rebuilds it
        self.add_term("ce", 1.0, cross_entropy_term)
        self.add_term("wc", self.lambda_wc, self._weight_consolidation)
        self.add_term("cos", self.lambda_cos, self._feature_alignment)
        self.add_term("kd", self.lambda_kd, self._logit_distillation)

    def add_term(self, name: str, weight: float, fn: Term) -> None:
        """Append the term ``name``, ``weight · fn(outputs, labels)``; a weight of 0 leaves it out."""
        if name in self.terms:
            raise ValueError(f"The loss already has a term {name!r}.")
        if weight > 0:
            self.terms[name] = (weight, fn)

    def _weight_consolidation(self, outputs: Outputs, labels: torch.Tensor) -> Optional[torch.Tensor]:
        if outputs["label_vectors"] is None:  # a model without label embeddings
            return None
        return weight_consolidation_loss(outputs["label_vectors"], outputs["label_anchor"])

    def _feature_alignment(self, outputs: Outputs, labels: torch.Tensor) -> torch.Tensor:
        return feature_alignment_loss(outputs["text_features"], outputs["original_text_features"], labels,
                                      self.cos_reduction)

    def _logit_distillation(self, outputs: Outputs, labels: torch.Tensor) -> torch.Tensor:
        return logit_distillation_loss(outputs["logits"], outputs["original_logits"], self.kd_temperature,
                                       self.kd_direction)

    @property
    def weights(self) -> Dict[str, float]:
        return {name: weight for name, (weight, _) in self.terms.items()}

    @property
    def needs_original_prompts(self) -> bool:
        return self.lambda_cos > 0 or self.lambda_kd > 0

    def __call__(self, outputs: Outputs, labels: torch.Tensor) -> Dict[str, torch.Tensor]:
        """The unweighted terms that are switched on, by name (``ce``, ``wc``, ``cos``, ``kd``, ...)."""
        terms = {}
        for name, (_, fn) in self.terms.items():
            value = fn(outputs, labels)
            if value is not None:
                terms[name] = value
        return terms

    def total(self, terms: Dict[str, torch.Tensor]) -> torch.Tensor:
        """``Σ λ_k · term_k`` over the terms given."""
        return sum(self.weights[name] * value for name, value in terms.items())

"""lamm/cocoop_loss.py: L_COS per image, equal to the per-class loss when every image has the same
text features; the other terms unchanged."""
import pytest
import torch
import torch.nn.functional as F

from lamm.cocoop_loss import PerImageHierarchicalLoss, per_image_feature_alignment_loss
from lamm.hierarchical_loss import HierarchicalLoss, feature_alignment_loss


def features(seed=0, batch=4, n_cls=5):
    generator = torch.Generator().manual_seed(seed)
    return torch.randn(batch, n_cls, 8, generator=generator), torch.randn(batch, n_cls, 8, generator=generator)


@pytest.mark.parametrize("reduction", ["official", "paper"])
def test_same_features_for_every_image_give_the_per_class_loss(reduction):
    learned, original = features(batch=1)
    labels = torch.tensor([0, 2, 2, 4])
    per_class = feature_alignment_loss(learned[0], original[0], labels, reduction)
    per_image = per_image_feature_alignment_loss(learned.expand(4, -1, -1), original.expand(4, -1, -1), labels, reduction)
    torch.testing.assert_close(per_image, per_class)
    # a constant (n_cls, D) original prompt is the same for every image
    torch.testing.assert_close(per_image_feature_alignment_loss(learned.expand(4, -1, -1), original[0], labels, reduction),
                               per_class)


def test_official_reduction_compares_each_sample_under_its_own_image():
    learned, original = features()
    labels = torch.tensor([1, 1, 3, 0])
    expected = torch.stack([1 - F.cosine_similarity(learned[b, labels[b]], original[b, labels[b]], dim=0)
                            for b in range(4)]).mean()
    torch.testing.assert_close(per_image_feature_alignment_loss(learned, original, labels), expected)
    # a batch of one label has no other label: 0, as the per-class official reduction
    assert per_image_feature_alignment_loss(learned, original, torch.tensor([2, 2, 2, 2])) == 0


def test_the_original_features_get_no_gradient():
    learned, original = features()
    learned.requires_grad_(True)
    original.requires_grad_(True)
    per_image_feature_alignment_loss(learned, original, torch.tensor([0, 1, 2, 3]), "paper").backward()
    assert learned.grad.abs().sum() > 0 and original.grad is None


def test_all_extra_weights_zero_is_cross_entropy_and_other_terms_are_unchanged():
    learned, original = features()
    logits, original_logits = torch.randn(4, 5), torch.randn(4, 5)
    labels = torch.tensor([0, 1, 2, 3])
    outputs = {"logits": logits, "text_features": learned, "original_text_features": original,
               "original_logits": original_logits, "label_vectors": None, "label_anchor": None}
    plain = PerImageHierarchicalLoss(lambda_wc=0.0, lambda_cos=0.0, lambda_kd=0.0)
    terms = plain(outputs, labels)
    assert set(terms) == {"ce"}
    torch.testing.assert_close(plain.total(terms), F.cross_entropy(logits, labels))
    vectors, anchor = torch.randn(5, 8), torch.randn(5, 8)
    full = PerImageHierarchicalLoss(lambda_wc=0.5)
    outputs.update(label_vectors=vectors, label_anchor=anchor)
    terms = full(outputs, labels)
    reference = HierarchicalLoss(lambda_wc=0.5)(
        {**outputs, "text_features": learned[0], "original_text_features": original[0]}, labels)
    assert set(terms) == {"ce", "wc", "cos", "kd"}
    for name in ("ce", "wc", "kd"):
        torch.testing.assert_close(terms[name], reference[name])
    torch.testing.assert_close(terms["cos"], per_image_feature_alignment_loss(learned, original, labels))

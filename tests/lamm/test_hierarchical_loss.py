"""Each term of the hierarchical loss against a value computed by hand on small tensors."""
import dataclasses
import math

import pytest
import torch
import torch.nn.functional as F

from lamm.errors import ConfigError
from lamm.hierarchical_loss import (
    HierarchicalLoss,
    feature_alignment_loss,
    logit_distillation_loss,
    weight_consolidation_loss,
)


def test_weight_consolidation_is_the_sum_of_squared_differences():
    vectors = torch.tensor([[1.0, 2.0], [0.5, -1.0]], requires_grad=True)
    anchor = torch.tensor([[0.0, 2.0], [1.0, 1.0]])
    loss = weight_consolidation_loss(vectors, anchor)
    assert loss.item() == pytest.approx(1.0 + 0.0 + 0.25 + 4.0)
    loss.backward()
    torch.testing.assert_close(vectors.grad, 2 * (vectors.detach() - anchor))
    assert weight_consolidation_loss(anchor.clone(), anchor).item() == 0.0


def cosine_distance(a, b):
    a, b = torch.tensor(a), torch.tensor(b)
    return 1 - float(a @ b / (a.norm() * b.norm()))


def test_feature_alignment_official_is_a_mean_over_samples_with_another_label_in_the_batch():
    text = torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]], requires_grad=True)
    original = torch.tensor([[1.0, 1.0], [0.0, 1.0], [1.0, 0.0]], requires_grad=True)
    labels = torch.tensor([0, 0, 2])  # class 0 appears twice: it counts twice
    d0 = cosine_distance([1.0, 0.0], [1.0, 1.0])
    d2 = cosine_distance([1.0, 1.0], [1.0, 0.0])
    loss = feature_alignment_loss(text, original, labels)
    assert loss.item() == pytest.approx((2 * d0 + d2) / 3)
    loss.backward()
    assert original.grad is None  # the original features are the fixed target
    assert text.grad[1].abs().sum() == 0  # class 1 is not in the batch


def test_feature_alignment_official_is_zero_for_a_single_label_batch():
    text, original = torch.randn(3, 4), torch.randn(3, 4)
    assert feature_alignment_loss(text, original, torch.tensor([1, 1])).item() == 0.0
    assert feature_alignment_loss(text, original, torch.tensor([2])).item() == 0.0


def test_feature_alignment_paper_sums_over_all_classes():
    text = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    original = torch.tensor([[1.0, 1.0], [0.0, 2.0]])
    expected = cosine_distance([1.0, 0.0], [1.0, 1.0]) + 0.0
    loss = feature_alignment_loss(text, original, torch.tensor([0]), reduction="paper")
    assert loss.item() == pytest.approx(expected)


def soft_ce(inputs, target):
    return -sum(t * math.log(q) for t, q in zip(target, inputs))


def softmax(values):
    exps = [math.exp(v) for v in values]
    return [e / sum(exps) for e in exps]


def test_logit_distillation_official_direction_by_hand():
    logits = torch.tensor([[2.0, 0.0, -2.0]], requires_grad=True)
    original = torch.tensor([[0.0, 1.0, 0.0]], requires_grad=True)
    T = 2.0
    # Official: the target comes from the learned logits, the input from the original ones.
    expected = soft_ce(softmax([0.0, 0.5, 0.0]), softmax([1.0, 0.0, -1.0])) * T ** 2
    loss = logit_distillation_loss(logits, original, temperature=T)
    assert loss.item() == pytest.approx(expected, rel=1e-6)
    loss.backward()
    assert logits.grad.abs().sum() > 0 and original.grad.abs().sum() > 0  # nothing detached


def test_logit_distillation_teacher_direction_detaches_the_original_logits():
    logits = torch.tensor([[2.0, 0.0, -2.0]], requires_grad=True)
    original = torch.tensor([[0.0, 1.0, 0.0]], requires_grad=True)
    expected = soft_ce(softmax([1.0, 0.0, -1.0]), softmax([0.0, 0.5, 0.0])) * 4.0
    loss = logit_distillation_loss(logits, original, temperature=2.0, direction="teacher")
    assert loss.item() == pytest.approx(expected, rel=1e-6)
    loss.backward()
    assert original.grad is None


def batch(seed=0, n_cls=4, batch_size=6, dim=8):
    generator = torch.Generator().manual_seed(seed)
    text = F.normalize(torch.randn(n_cls, dim, generator=generator), dim=-1)
    original = F.normalize(torch.randn(n_cls, dim, generator=generator), dim=-1)
    images = F.normalize(torch.randn(batch_size, dim, generator=generator), dim=-1)
    labels = torch.randint(0, n_cls, (batch_size,), generator=generator)
    vectors = torch.randn(5, dim, generator=generator)
    return dict(logits=100 * images @ text.t(), labels=labels, text_features=text, original_text_features=original,
                original_logits=100 * images @ original.t(), label_vectors=vectors, label_anchor=vectors + 0.1)


def test_all_extra_weights_zero_is_exactly_cross_entropy():
    inputs = batch()
    loss = HierarchicalLoss(lambda_wc=0.0, lambda_cos=0.0, lambda_kd=0.0)
    terms = loss(inputs, inputs["labels"])
    assert list(terms) == ["ce"] and not loss.needs_original_prompts
    assert loss.total(terms).item() == F.cross_entropy(inputs["logits"], inputs["labels"]).item()


def test_total_is_the_weighted_sum_of_the_named_terms():
    inputs = batch(seed=1)
    loss = HierarchicalLoss(lambda_wc=1 / 16, lambda_cos=1.0, lambda_kd=0.05)
    terms = loss(inputs, inputs["labels"])
    assert set(terms) == {"ce", "wc", "cos", "kd"}
    expected = (F.cross_entropy(inputs["logits"], inputs["labels"])
                + weight_consolidation_loss(inputs["label_vectors"], inputs["label_anchor"]) / 16
                + feature_alignment_loss(inputs["text_features"], inputs["original_text_features"], inputs["labels"])
                + 0.05 * logit_distillation_loss(inputs["logits"], inputs["original_logits"]))
    assert loss.total(terms).item() == pytest.approx(expected.item(), rel=1e-6)


@pytest.mark.parametrize("kwargs, message", [
    (dict(cos_reduction="mean"), "L_COS reduction"),
    (dict(kd_direction="reverse"), "L_KD direction"),
    (dict(lambda_kd=-0.1), ">= 0"),
    (dict(kd_temperature=0.0), "temperature"),
])
def test_invalid_options_are_rejected(kwargs, message):
    with pytest.raises(ConfigError, match=message):
        HierarchicalLoss(**kwargs)


def test_a_method_adds_a_named_weighted_term_and_the_total_follows():
    inputs = batch(seed=2)
    loss = HierarchicalLoss(lambda_wc=1 / 16, lambda_cos=1.0, lambda_kd=0.05)
    before = loss.total(loss(inputs, inputs["labels"]))
    # e.g. KgCoOp's term: the learned text features kept near the original ones.
    kg = lambda outputs, labels: (outputs["text_features"] - outputs["original_text_features"]).pow(2).sum()
    loss.add_term("kg", 8.0, kg)
    loss.add_term("off", 0.0, kg)  # a weight of 0 leaves a term out
    terms = loss(inputs, inputs["labels"])
    assert list(terms) == ["ce", "wc", "cos", "kd", "kg"]
    assert loss.weights == {"ce": 1.0, "wc": 1 / 16, "cos": 1.0, "kd": 0.05, "kg": 8.0}
    assert terms["kg"].item() == kg(inputs, inputs["labels"]).item() > 0
    assert loss.total(terms).item() == pytest.approx((before + 8.0 * terms["kg"]).item(), rel=1e-6)
    with pytest.raises(ValueError, match="already has a term 'kg'"):
        loss.add_term("kg", 1.0, kg)


def test_the_parameter_space_term_needs_label_embeddings():
    inputs = dict(batch(seed=3), label_vectors=None, label_anchor=None)  # e.g. CoOp's outputs
    terms = HierarchicalLoss()(inputs, inputs["labels"])
    assert list(terms) == ["ce", "cos", "kd"]
    del inputs["label_vectors"]  # a model that does not say whether it has labels fails loudly
    with pytest.raises(KeyError, match="label_vectors"):
        HierarchicalLoss()(inputs, inputs["labels"])


def test_a_copy_with_other_weights_has_its_own_terms():
    loss = HierarchicalLoss(lambda_wc=0.5)
    loss.add_term("extra", 2.0, lambda outputs, labels: outputs["logits"].sum())
    copy = dataclasses.replace(loss, lambda_cos=0.0)
    assert copy.weights == {"ce": 1.0, "wc": 0.5, "kd": 0.05}
    assert loss.weights == {"ce": 1.0, "wc": 0.5, "cos": 1.0, "kd": 0.05, "extra": 2.0}
    assert dataclasses.asdict(copy) == dict(lambda_wc=0.5, lambda_cos=0.0, lambda_kd=0.05, kd_temperature=2.0,
                                            cos_reduction="official", kd_direction="official")

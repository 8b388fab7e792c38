"""lamm/model.py: every shortcut is exact (logits, each loss term and every gradient agree with it on
and off), and the text and image features it caches are recomputed exactly when they could change."""
import dataclasses

import pytest
import torch

from lamm.model import OFFICIAL, PromptedCLIP, Shortcuts
from lamm.prompt_learner import PromptLearner
from tests.helpers import CLASSNAMES, STEP_KINDS, STEP_NAMES, step_learner, tiny_clip, training_step


@pytest.mark.parametrize("kind", STEP_KINDS)
@pytest.mark.parametrize("switch", ["all", "truncate_prompts", "share_prompt_prefix", "cache_constant_text"])
def test_a_shortcut_changes_no_result(kind, switch):
    on = Shortcuts() if switch == "all" else dataclasses.replace(OFFICIAL, **{switch: True})
    reference = training_step(kind, OFFICIAL)
    fast = training_step(kind, on)
    torch.testing.assert_close(fast[0], reference[0], atol=2e-4, rtol=1e-4)
    assert fast[1].keys() == reference[1].keys()
    for name in reference[1]:
        torch.testing.assert_close(fast[1][name], reference[1][name], atol=1e-5, rtol=1e-4)
    assert fast[2].keys() == reference[2].keys() and len(reference[2]) > 0
    for name in reference[2]:
        torch.testing.assert_close(fast[2][name], reference[2][name], atol=1e-5, rtol=1e-3, msg=name)
    torch.testing.assert_close(fast[3], reference[3], atol=2e-4, rtol=1e-4)


@pytest.mark.parametrize("kind", STEP_KINDS)
def test_a_learner_that_keeps_only_the_tokens_read_computes_the_same_bits(kind):
    full = training_step(kind, Shortcuts(), truncate_after_eot=False)
    truncated = training_step(kind, Shortcuts(), truncate_after_eot=True)
    torch.testing.assert_close(truncated[0], full[0], atol=0, rtol=0)
    for name in full[1]:
        torch.testing.assert_close(truncated[1][name], full[1][name], atol=0, rtol=0)
    assert truncated[2].keys() == full[2].keys()
    for name in full[2]:
        torch.testing.assert_close(truncated[2][name], full[2][name], atol=0, rtol=0, msg=name)
    torch.testing.assert_close(truncated[3], full[3], atol=0, rtol=0)


@pytest.mark.parametrize("kind", ["LAMM", "MaPLeLAMM"])
def test_forward_features_hands_the_loss_the_label_embeddings_and_their_anchor(kind):
    clip_model, prompt_learner = step_learner(kind)
    outputs = PromptedCLIP(clip_model, prompt_learner).forward_features(torch.randn(2, 3, 32, 32))
    assert outputs["label_vectors"] is prompt_learner.label_embeddings.vectors
    assert outputs["label_anchor"] is prompt_learner.label_embeddings.anchor
    plain = PromptLearner(clip_model.token_embedding, CLASSNAMES, n_ctx=4)  # CoOp: no labels
    outputs = PromptedCLIP(clip_model, plain).forward_features(torch.randn(2, 3, 32, 32), with_original=False)
    assert outputs["label_vectors"] is None and outputs["label_anchor"] is None


def test_the_official_computation_refuses_a_truncated_learner():
    clip_model, prompt_learner = step_learner("CoOpLAMM", truncate_after_eot=True)
    with pytest.raises(ValueError, match="truncate_prompts"):
        PromptedCLIP(clip_model, prompt_learner, shortcuts=OFFICIAL)


def test_prefix_sharing_really_shortens_the_per_class_sequences():
    clip_model, prompt_learner = step_learner("LAMM")
    model = PromptedCLIP(clip_model, prompt_learner)
    lengths = []
    hook = clip_model.transformer.resblocks[0].mlp.register_forward_pre_hook(lambda m, a: lengths.append(a[0].shape))
    with torch.no_grad():
        model._encode(prompt_learner())
    hook.remove()
    prefix, rest = lengths
    assert prefix[:2] == (5, 1)  # [SOS] a photo of a, once
    assert rest[1] == len(STEP_NAMES) and rest[0] == int(prompt_learner.name_eot_indices.max()) + 1 - 5


@pytest.mark.parametrize("cache", [True, False])
def test_test_image_features_are_computed_once_per_run(cache, caltech_root, tiny_clip_file, tmp_path):
    from dassl.engine import build_trainer

    import train
    from tests.fixtures import tiny_opts, train_args

    opts = tiny_opts(tiny_clip_file, "TRAINER.SHORTCUTS.CACHE_TEST_IMAGE_FEATURES", str(cache))
    trainer = build_trainer(train.setup_cfg(train_args(caltech_root, tmp_path / "run", opts=opts)))
    calls = []
    encode = trainer.model.image_encoder.forward
    trainer.model.image_encoder.forward = lambda images: calls.append(len(images)) or encode(images)
    first = trainer.test()
    images_seen = sum(calls)
    second = trainer.test()
    assert first == second
    assert images_seen == len(trainer.dm.dataset.test)
    assert sum(calls) == (images_seen if cache else 2 * images_seen)


@pytest.mark.parametrize("kind, cached", [("LAMM", True), ("MaPLeLAMM", False)])  # MaPLe prompts the image tower
def test_test_logits_equal_forward_and_reuse_the_features_of_a_path_seen_before(kind, cached):
    clip_model, prompt_learner = step_learner(kind)
    model = PromptedCLIP(clip_model, prompt_learner)
    calls = []
    encode = model.encode_images
    model.encode_images = lambda images: calls.append(len(images)) or encode(images)
    images = torch.randn(3, 3, 32, 32)
    with torch.no_grad():
        first = model.test_logits(images, ["a.jpg", "b.jpg", "c.jpg"])
        again = model.test_logits(images[[2, 0]], ["c.jpg", "a.jpg"])
        assert calls == ([3] if cached else [3, 2])
        torch.testing.assert_close(first, model(images), atol=0, rtol=0)
    exact = dict(atol=0, rtol=0) if cached else {}  # recomputed in another batch: the same up to rounding
    torch.testing.assert_close(again, first[[2, 0]], **exact)


def test_eval_text_features_are_cached_until_a_parameter_changes():
    clip_model = tiny_clip()
    learner = PromptLearner(clip_model.token_embedding, CLASSNAMES, context_init="a photo of a",
                            learn_context=False, label_tokens="shortest")
    model = PromptedCLIP(clip_model, learner)
    calls = []
    original_forward = model.text_encoder.forward
    model.text_encoder.forward = lambda *a, **k: calls.append(1) or original_forward(*a, **k)
    images = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        first = model(images)
        model(images)
    assert len(calls) == 1  # one text pass for two evaluation batches
    with torch.no_grad():
        learner.label_embeddings.vectors.add_(torch.randn_like(learner.label_embeddings.vectors))  # as an optimizer step
        second = model(images)
    assert len(calls) == 2 and not torch.allclose(first, second)
    # The original prompts of LAMM are constant: encoded once, also while training.
    model.original_text_features()
    model.original_text_features()
    assert len(calls) == 3

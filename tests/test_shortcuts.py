"""Every shortcut is exact: logits, each loss term and every gradient agree with it on and off."""
import dataclasses

import pytest
import torch

from lamm.hierarchical_loss import HierarchicalLoss
from lamm.maple_prompts import MultiModalPromptLearner
from lamm.model import OFFICIAL, PromptedCLIP, Shortcuts
from lamm.prompt_learner import PromptLearner
from tests.helpers import CLASSNAMES, tiny_clip

NAMES = CLASSNAMES + ["sea lion", "golden retriever", "a very long class name with many words in it"]


def learner(kind, truncate_after_eot=False):
    clip_model = tiny_clip()
    torch.manual_seed(1)
    common = dict(label_tokens="shortest", truncate_after_eot=truncate_after_eot)
    if kind == "LAMM":
        return clip_model, PromptLearner(clip_model.token_embedding, NAMES, context_init="a photo of a",
                                         learn_context=False, **common)
    if kind == "CoOpLAMM":
        return clip_model, PromptLearner(clip_model.token_embedding, NAMES, context_init="a photo of a", **common)
    if kind == "CoOpLAMM-middle":
        return clip_model, PromptLearner(clip_model.token_embedding, NAMES, n_ctx=4, class_token_position="middle",
                                         **common)
    return clip_model, MultiModalPromptLearner(clip_model.token_embedding, NAMES, prompt_depth=3, vision_width=64,
                                               text_layers=3, vision_layers=3, n_ctx=2, context_init="a photo of a",
                                               **common)


def step(kind, shortcuts, truncate_after_eot=None):
    """One forward and backward; returns logits, loss terms and the gradients.

    The prompt learner keeps only the tokens the encoder reads when the prompts are truncated,
    as the trainers build it, unless ``truncate_after_eot`` says otherwise."""
    if truncate_after_eot is None:
        truncate_after_eot = shortcuts.truncate_prompts
    clip_model, prompt_learner = learner(kind, truncate_after_eot)
    for p in clip_model.parameters():
        p.requires_grad_(False)
    with torch.no_grad():  # move the labels and context away from their start
        for p in prompt_learner.parameters():
            if p.requires_grad:
                p.add_(torch.randn_like(p) * 0.05)
    model = PromptedCLIP(clip_model, prompt_learner, shortcuts=shortcuts)
    torch.manual_seed(2)
    images, labels = torch.randn(6, 3, 32, 32), torch.tensor([0, 1, 1, 3, 6, 7])
    outputs = model.forward_features(images)
    loss = HierarchicalLoss(lambda_wc=0.25)
    labels_module = prompt_learner.label_embeddings
    terms = loss(outputs["logits"], labels, outputs["text_features"], outputs["original_text_features"],
                 outputs["original_logits"], labels_module.vectors, labels_module.anchor)
    loss.total(terms).backward()
    grads = {name: p.grad.clone() for name, p in prompt_learner.named_parameters() if p.requires_grad}
    with torch.no_grad():
        eval_logits = model(images)
    return outputs["logits"].detach(), {k: v.detach() for k, v in terms.items()}, grads, eval_logits


@pytest.mark.parametrize("kind", ["LAMM", "CoOpLAMM", "CoOpLAMM-middle", "MaPLeLAMM"])
@pytest.mark.parametrize("switch", ["all", "truncate_prompts", "share_prompt_prefix", "cache_constant_text"])
def test_a_shortcut_changes_no_result(kind, switch):
    on = Shortcuts() if switch == "all" else dataclasses.replace(OFFICIAL, **{switch: True})
    reference = step(kind, OFFICIAL)
    fast = step(kind, on)
    torch.testing.assert_close(fast[0], reference[0], atol=2e-4, rtol=1e-4)
    assert fast[1].keys() == reference[1].keys()
    for name in reference[1]:
        torch.testing.assert_close(fast[1][name], reference[1][name], atol=1e-5, rtol=1e-4)
    assert fast[2].keys() == reference[2].keys() and len(reference[2]) > 0
    for name in reference[2]:
        torch.testing.assert_close(fast[2][name], reference[2][name], atol=1e-5, rtol=1e-3, msg=name)
    torch.testing.assert_close(fast[3], reference[3], atol=2e-4, rtol=1e-4)


@pytest.mark.parametrize("kind", ["LAMM", "CoOpLAMM", "CoOpLAMM-middle", "MaPLeLAMM"])
def test_a_learner_that_keeps_only_the_tokens_read_computes_the_same_bits(kind):
    full = step(kind, Shortcuts(), truncate_after_eot=False)
    truncated = step(kind, Shortcuts(), truncate_after_eot=True)
    torch.testing.assert_close(truncated[0], full[0], atol=0, rtol=0)
    for name in full[1]:
        torch.testing.assert_close(truncated[1][name], full[1][name], atol=0, rtol=0)
    assert truncated[2].keys() == full[2].keys()
    for name in full[2]:
        torch.testing.assert_close(truncated[2][name], full[2][name], atol=0, rtol=0, msg=name)
    torch.testing.assert_close(truncated[3], full[3], atol=0, rtol=0)


def test_the_official_computation_refuses_a_truncated_learner():
    clip_model, prompt_learner = learner("CoOpLAMM", truncate_after_eot=True)
    with pytest.raises(ValueError, match="truncate_prompts"):
        PromptedCLIP(clip_model, prompt_learner, shortcuts=OFFICIAL)


def test_prefix_sharing_really_shortens_the_per_class_sequences():
    clip_model, prompt_learner = learner("LAMM")
    model = PromptedCLIP(clip_model, prompt_learner)
    lengths = []
    hook = clip_model.transformer.resblocks[0].mlp.register_forward_pre_hook(lambda m, a: lengths.append(a[0].shape))
    with torch.no_grad():
        model._encode(prompt_learner())
    hook.remove()
    prefix, rest = lengths
    assert prefix[:2] == (5, 1)  # [SOS] a photo of a, once
    assert rest[1] == len(NAMES) and rest[0] == int(prompt_learner.name_eot_indices.max()) + 1 - 5


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

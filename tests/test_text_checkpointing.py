"""Activation checkpointing of the text tower is exact: logits, loss terms and gradients are equal."""
import pytest
import torch

from lamm.errors import ConfigError
from lamm.model import OFFICIAL, PromptedCLIP, Shortcuts
from lamm.text_encoder import CHECKPOINTING_MIN_CLASSES, resolve_checkpointing
from tests.test_shortcuts import learner
from lamm.hierarchical_loss import HierarchicalLoss


def step(kind, shortcuts, checkpointing):
    clip_model, prompt_learner = learner(kind)
    for p in clip_model.parameters():
        p.requires_grad_(False)
    with torch.no_grad():  # move the labels and context away from their start
        for p in prompt_learner.parameters():
            if p.requires_grad:
                p.add_(torch.randn_like(p) * 0.05)
    model = PromptedCLIP(clip_model, prompt_learner, shortcuts=shortcuts, text_checkpointing=checkpointing)
    calls = []
    hook = clip_model.transformer.resblocks[0].ln_1.register_forward_hook(lambda *a: calls.append(1))
    torch.manual_seed(2)
    images, labels = torch.randn(6, 3, 32, 32), torch.tensor([0, 1, 1, 3, 6, 7])
    outputs = model.forward_features(images)
    terms = HierarchicalLoss(lambda_wc=0.25)(
        outputs["logits"], labels, outputs["text_features"], outputs["original_text_features"],
        outputs["original_logits"], prompt_learner.label_embeddings.vectors, prompt_learner.label_embeddings.anchor)
    forward_calls = len(calls)
    sum(terms.values()).backward()
    hook.remove()
    grads = {name: p.grad.clone() for name, p in prompt_learner.named_parameters() if p.requires_grad}
    return outputs["logits"].detach(), {k: v.detach() for k, v in terms.items()}, grads, len(calls) - forward_calls


@pytest.mark.parametrize("kind", ["LAMM", "CoOpLAMM", "CoOpLAMM-middle", "MaPLeLAMM"])
@pytest.mark.parametrize("shortcuts", [Shortcuts(), OFFICIAL], ids=["shortcuts", "official"])
def test_checkpointing_changes_no_number(kind, shortcuts):
    plain = step(kind, shortcuts, checkpointing=False)
    checkpointed = step(kind, shortcuts, checkpointing=True)
    # Bit for bit (atol=0): the backward pass recomputes each block with the same kernels on the
    # same inputs, so every saved activation it uses is the same tensor value.
    assert plain[3] == 0 and checkpointed[3] > 0  # the blocks really were recomputed in backward
    assert torch.equal(plain[0], checkpointed[0])
    assert plain[1].keys() == checkpointed[1].keys() and len(plain[1]) == 4
    for name in plain[1]:
        assert torch.equal(plain[1][name], checkpointed[1][name]), name
    assert plain[2].keys() == checkpointed[2].keys() and plain[2]
    for name in plain[2]:
        assert torch.equal(plain[2][name], checkpointed[2][name]), name


def test_auto_is_on_above_the_documented_class_count():
    assert not resolve_checkpointing("auto", CHECKPOINTING_MIN_CLASSES)
    assert resolve_checkpointing("auto", CHECKPOINTING_MIN_CLASSES + 1)
    assert resolve_checkpointing("on", 2) and not resolve_checkpointing("off", 1000)
    with pytest.raises(ConfigError, match="TEXT_CHECKPOINTING must be one of auto, on, off, got 'yes'"):
        resolve_checkpointing("yes", 10)


def test_the_trainer_reads_the_switch(caltech_root, tiny_clip_file, tmp_path):
    from dassl.engine import build_trainer

    import train
    from tests.fixtures import tiny_opts, train_args

    for mode, expected in (("auto", False), ("on", True)):
        opts = tiny_opts(tiny_clip_file, "TRAINER.MEMORY.TEXT_CHECKPOINTING", mode)
        trainer = build_trainer(train.setup_cfg(train_args(caltech_root, tmp_path / mode, opts=opts)))
        assert trainer.model.text_encoder.checkpointing is expected

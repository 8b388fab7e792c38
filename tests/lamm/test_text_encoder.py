"""lamm/text_encoder.py: truncated prompts, deep prompts, and activation checkpointing that changes no
number (logits, loss terms and gradients are equal)."""
import pytest
import torch

from lamm.errors import ConfigError
from lamm.model import OFFICIAL, Shortcuts
from lamm.prompt_learner import PromptLearner
from lamm.text_encoder import CHECKPOINTING_MIN_CLASSES, TextEncoder, resolve_checkpointing
from tests.helpers import CLASSNAMES, STEP_KINDS, tiny_clip, training_step


@pytest.mark.parametrize("kind", STEP_KINDS)
@pytest.mark.parametrize("shortcuts", [Shortcuts(), OFFICIAL], ids=["shortcuts", "official"])
def test_checkpointing_changes_no_number(kind, shortcuts):
    plain = training_step(kind, shortcuts, checkpointing=False)
    checkpointed = training_step(kind, shortcuts, checkpointing=True)
    # Bit for bit (atol=0): the backward pass recomputes each block with the same kernels on the
    # same inputs, so every saved activation it uses is the same tensor value.
    assert plain[4] == 0 and checkpointed[4] > 0  # the blocks really were recomputed in backward
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
        # Freed memory stays with this process: fixing its allocator would slow the rest of the session.
        opts = tiny_opts(tiny_clip_file, "TRAINER.MEMORY.TEXT_CHECKPOINTING", mode,
                         "TRAINER.MEMORY.RETURN_FREED_MEMORY", "off")
        trainer = build_trainer(train.setup_cfg(train_args(caltech_root, tmp_path / mode, opts=opts)))
        assert trainer.model.text_encoder.checkpointing is expected


def test_truncated_text_encoding_equals_the_full_77_tokens():
    clip_model = tiny_clip()
    learner = PromptLearner(clip_model.token_embedding, CLASSNAMES, n_ctx=4, label_tokens="shortest")
    prompts, eot = learner()
    with torch.no_grad():
        short = TextEncoder(clip_model, truncate=True)(prompts, eot)
        full = TextEncoder(clip_model, truncate=False)(prompts, eot)
    torch.testing.assert_close(short, full, atol=1e-5, rtol=1e-5)


def test_deep_prompts_change_the_output_only_through_the_layers_they_reach():
    clip_model = tiny_clip()  # two text layers: only layer 1 can take a deep prompt
    learner = PromptLearner(clip_model.token_embedding, CLASSNAMES, n_ctx=2)
    prompts, eot = learner()
    encoder = TextEncoder(clip_model)
    with torch.no_grad():
        plain = encoder(prompts, eot)
        deep = encoder(prompts, eot, deep_prompts=[torch.randn(2, 64)])
    assert not torch.allclose(plain, deep)

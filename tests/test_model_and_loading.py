"""Text encoding, cached features, CLIP loading and the LR schedule."""
import math

import pytest
import torch
from yacs.config import CfgNode

from lamm.clip_loader import check_input_size, load_clip
from lamm.errors import ConfigError
from lamm.model import PromptedCLIP
from lamm.prompt_learner import PromptLearner
from lamm.text_encoder import TextEncoder
from tests.helpers import CLASSNAMES, tiny_clip
from tools.tiny_clip import save_tiny_clip
from trainers.lr_scheduler import build_lr_scheduler


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


def test_load_clip_from_a_state_dict_file_and_from_a_torchscript_archive(tmp_path):
    reference = tiny_clip()
    state_path = save_tiny_clip(tmp_path / "tiny.pt")
    loaded = load_clip(state_path).float()
    torch.testing.assert_close(loaded.token_embedding.weight, reference.token_embedding.weight)
    assert loaded.visual.conv1.weight.dtype == torch.float32

    # OpenAI releases TorchScript archives; a traced CLIP keeps the same state-dict keys.
    archive = torch.jit.trace_module(reference, {"encode_image": torch.randn(1, 3, 32, 32)}, check_trace=False)
    torch.jit.save(archive, str(tmp_path / "tiny_script.pt"))
    from_archive = load_clip(str(tmp_path / "tiny_script.pt")).float()
    # build_model stores CLIP's projections in fp16, as for the released models.
    torch.testing.assert_close(from_archive.text_projection, reference.text_projection.half().float())


def test_unknown_model_name_and_wrong_input_size_are_clear_errors(tmp_path):
    with pytest.raises(ConfigError, match="Did you mean ViT-B/16"):
        load_clip("ViT-B/61")
    with pytest.raises(ConfigError, match=r'INPUT.SIZE "\(32, 32\)"'):
        check_input_size(tiny_clip(), (224, 224), "tiny")


def optim_cfg(**overrides):
    values = dict(LR=0.0035, MAX_EPOCH=5, LR_SCHEDULER="cosine", STEPSIZE=(-1,), GAMMA=0.1, WARMUP_EPOCH=1,
                  WARMUP_TYPE="constant", WARMUP_CONS_LR=1e-5, WARMUP_MIN_LR=1e-5, WARMUP_RECOUNT=True)
    values.update(overrides)
    return CfgNode(values)


def lr_per_epoch(cfg, epochs):
    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=cfg.LR)
    scheduler = build_lr_scheduler(optimizer, cfg)
    lrs = []
    for _ in range(epochs):
        lrs.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    return lrs


def test_constant_warmup_then_shifted_cosine_as_dassl():
    # dassl-behaviour.md §1.3: epoch 0 at 1e-5, then LR·½(1+cos(π(e-1)/MAX_EPOCH)).
    lrs = lr_per_epoch(optim_cfg(), 5)
    expected = [1e-5] + [0.0035 * 0.5 * (1 + math.cos(math.pi * (e - 1) / 5)) for e in range(1, 5)]
    assert lrs == pytest.approx(expected, rel=1e-9)
    assert lrs == pytest.approx([1e-5, 0.0035, 0.0031658, 0.0022908, 0.0012092], rel=1e-4)
    coop = lr_per_epoch(optim_cfg(LR=0.002, MAX_EPOCH=50), 50)
    assert coop[-1] == pytest.approx(7.9e-6, rel=0.01) and min(coop) > 0


def test_other_schedules_and_linear_warmup():
    assert lr_per_epoch(optim_cfg(LR_SCHEDULER="single_step", STEPSIZE=(2,), WARMUP_EPOCH=0), 5) == pytest.approx(
        [0.0035, 0.0035, 0.00035, 0.00035, 0.000035])
    assert lr_per_epoch(optim_cfg(LR_SCHEDULER="multi_step", STEPSIZE=(1, 3), WARMUP_EPOCH=0), 4) == pytest.approx(
        [0.0035, 0.00035, 0.00035, 0.000035])
    linear = lr_per_epoch(optim_cfg(WARMUP_EPOCH=2, WARMUP_TYPE="linear"), 4)
    assert linear[:3] == pytest.approx([1e-5, 0.0035 / 2, 0.0035])


def test_scheduler_state_loads_with_weights_only(tmp_path):
    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.002)
    scheduler = build_lr_scheduler(optimizer, optim_cfg(LR=0.002))
    optimizer.step()
    scheduler.step()
    torch.save({"scheduler": scheduler.state_dict()}, tmp_path / "s.pt")
    state = torch.load(tmp_path / "s.pt", weights_only=True)["scheduler"]
    assert state["last_epoch"] == 1

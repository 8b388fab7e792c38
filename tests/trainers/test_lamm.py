"""The LAMM trainer inside Dassl: what trains, what stays frozen, and the logged terms."""

import pytest
import torch
from dassl.engine import build_trainer

import train
from lamm.errors import LammError
from tests.fixtures import tiny_opts, train_args


@pytest.fixture
def lamm_trainer(caltech_root, tiny_clip_file, tmp_path):
    cfg = train.setup_cfg(train_args(caltech_root, tmp_path / "run", opts=tiny_opts(tiny_clip_file)))
    torch.manual_seed(0)
    return build_trainer(cfg)


def run_steps(trainer, steps):
    trainer.set_model_mode("train")
    trainer.num_batches = len(trainer.train_loader_x)
    summaries = []
    for trainer.batch_idx, batch in enumerate(trainer.train_loader_x):
        if trainer.batch_idx == steps:
            break
        summaries.append(trainer.forward_backward(batch))
    return summaries


def test_training_changes_only_the_label_embeddings(lamm_trainer):
    model = lamm_trainer.model
    frozen_before = {k: v.clone() for k, v in model.state_dict().items() if not k.startswith("prompt_learner.")}
    ctx_before = model.prompt_learner.ctx.detach().clone()
    labels_before = model.prompt_learner.label_embeddings.vectors.detach().clone()
    trainable = [name for name, p in model.named_parameters() if p.requires_grad]
    assert trainable == ["prompt_learner.label_embeddings.vectors"]

    summaries = run_steps(lamm_trainer, steps=2)
    lamm_trainer.optim.param_groups[0]["lr"] = 0.5  # a visible step after the 1e-5 warmup
    summaries += run_steps(lamm_trainer, steps=1)

    for key, value in model.state_dict().items():
        if key in frozen_before:
            assert torch.equal(value, frozen_before[key]), f"{key} changed"
    assert torch.equal(model.prompt_learner.ctx.detach(), ctx_before)
    labels_after = model.prompt_learner.label_embeddings.vectors
    assert not torch.equal(labels_after.detach(), labels_before)
    assert labels_after.grad is not None and torch.isfinite(labels_after.grad).all()
    for summary in summaries:
        assert set(summary) == {"loss", "acc", "ce", "wc", "cos", "kd"}
        assert all(torch.isfinite(torch.tensor(v)) for v in summary.values())
    assert summaries[0]["wc"] == 0.0  # the parameter-space term starts at exactly 0
    assert summaries[-1]["wc"] > 0.0


def test_lambda_wc_follows_the_shot_count_unless_set(caltech_root, tiny_clip_file, tmp_path):
    def weights(*extra):
        cfg = train.setup_cfg(train_args(caltech_root, tmp_path / "w", opts=tiny_opts(tiny_clip_file, *extra)))
        return build_trainer(cfg).criterion.weights

    assert weights()["wc"] == pytest.approx(1 / 4)  # the 4-shot config
    assert weights("TRAINER.LAMM.LAMBDA_WC", "-1.0", "DATASET.NUM_SHOTS", "2")["wc"] == pytest.approx(0.5)
    assert weights("TRAINER.LAMM.LAMBDA_WC", "1.0")["wc"] == 1.0  # the official scripts' effective value
    assert weights("TRAINER.LAMM.HIERARCHICAL_LOSS", "False") == {"ce": 1.0}


def test_non_finite_loss_stops_with_the_terms_and_a_hint(lamm_trainer):
    with torch.no_grad():
        lamm_trainer.model.prompt_learner.label_embeddings.vectors.fill_(float("nan"))
    # The run is fp32 (the CPU): the hint is the step size, not "try fp32".
    with pytest.raises(FloatingPointError, match=r"Non-finite loss at epoch 1, batch 1: ce=nan.*in fp32: try a lower OPTIM.LR") as raised:
        run_steps(lamm_trainer, steps=1)
    assert "try fp32" not in str(raised.value) and "amp" not in str(raised.value)
    assert isinstance(raised.value, LammError)  # train.py prints it as one error: line


def test_non_finite_loss_in_half_precision_suggests_fp32_or_amp(lamm_trainer):
    lamm_trainer.precision = "fp16"  # as on a GPU; the CPU always runs fp32
    lamm_trainer.epoch, lamm_trainer.batch_idx = 0, 0
    nan = torch.tensor(float("nan"))
    with pytest.raises(FloatingPointError, match=r"TRAINER.COOP.PREC fp16, try TRAINER.COOP.PREC fp32 or amp"):
        lamm_trainer.check_finite(nan, {"ce": nan})

"""trainers/lr_scheduler.py: Dassl's schedules with warm-up, and a state that loads with weights_only."""
import math

import pytest
import torch
from yacs.config import CfgNode

from trainers.lr_scheduler import build_lr_scheduler


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

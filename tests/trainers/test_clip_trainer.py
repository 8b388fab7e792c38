"""trainers/clip_trainer.py: what a run cost, as its record states it (time, memory, parameters, speed)."""
import ast
import re

import pytest
import torch

from trainers.record import COST_FIELDS, read_record


def updated_parameters(run) -> int:
    """The parameters the log says are updated, counted in the run's last checkpoint."""
    line = next(l for l in (run / "log.txt").read_text().splitlines() if l.startswith("Parameters to be updated:"))
    names = ast.literal_eval(line.split(":", 1)[1].strip())
    (checkpoint,) = sorted((run / "prompt_learner").glob("model.pth.tar-*"))[-1:]
    state = torch.load(checkpoint, map_location="cpu", weights_only=False)["state_dict"]
    return sum(state[re.sub(r"^prompt_learner\.", "", name)].numel() for name in names)


def test_the_record_says_what_the_run_cost(lamm_run):
    record = read_record(str(lamm_run))
    cost = record["cost"]
    assert set(cost) == set(COST_FIELDS)
    assert cost["wall_s"] >= record["time_s"]["train"] + record["time_s"]["test"]  # loading counts too
    assert cost["host_peak_gb"] >= record["peak_memory_gb"]["test"] > 0.01 and cost["gpu_peak_gb"] is None
    assert cost["trainable_params"] == updated_parameters(lamm_run) > 0
    images = record["epoch"] * 16  # 2 epochs of 4 classes x 4 shots
    assert cost["train_images_per_s"] * record["time_s"]["train"] == pytest.approx(images, rel=0.05)

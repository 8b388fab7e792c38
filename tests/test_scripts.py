"""Each method's script end to end on synthetic data: train, skip, resume, evaluate."""
import json
from pathlib import Path

import pytest

from tests.fixtures import run_command, run_train, tiny_opts

SCRIPTS = {
    "coop": ("CoOp", "vit_b16_ep50_ctxv1", "prompt_learner", []),
    "coop_lamm": ("CoOpLAMM", "vit_b16_ep50_ctxv1", "prompt_learner", []),
    "maple": ("MaPLe", "vit_b16_c2_ep5_batch4_2ctx", "MultiModalPromptLearner",
              ["TRAINER.MAPLE.PREC", "fp32", "TRAINER.MAPLE.PROMPT_DEPTH", "2"]),
    "maple_lamm": ("MaPLeLAMM", "vit_b16_c2_ep5_batch4_2ctx", "MultiModalPromptLearner",
                   ["TRAINER.MAPLE.PREC", "fp32", "TRAINER.MAPLE.PROMPT_DEPTH", "2"]),
}


@pytest.mark.parametrize("script", list(SCRIPTS))
def test_method_script_trains_resumes_and_evaluates(script, caltech_root, tiny_clip_file, tmp_path):
    trainer, config, model_name, extra = SCRIPTS[script]
    env = {"DATA": caltech_root, "OUTPUT": str(tmp_path), "SEEDS": "1", "TAG": "tiny"}
    command = ["bash", f"scripts/{script}/main.sh", "caltech101", "2", *tiny_opts(tiny_clip_file, *extra)]
    run_command(command, env=env)
    run = Path(tmp_path) / "caltech101" / trainer / f"{config}_2shots_tiny" / "seed1"
    assert (run / model_name / "model.pth.tar-2").is_file()
    trained = json.loads((run / "results.json").read_text())
    assert trained["trainer"] == trainer and trained["num_shots"] == 2

    _, log = run_command(command, env=env)
    assert "Results are available" in log and "epoch [" not in log
    (run / "results.json").unlink()
    _, log = run_command(command, env=env)
    assert "Found checkpoint at" in log and "Previous epoch: 2" in log
    assert json.loads((run / "results.json").read_text())["accuracy"] == trained["accuracy"]

    run_train("--root", caltech_root, "--seed", "1", "--trainer", trainer,
              "--dataset-config-file", "configs/datasets/caltech101.yaml",
              "--config-file", f"configs/trainers/{trainer}/{config}_2shots.yaml",
              "--output-dir", str(tmp_path / "eval"), "--eval-only", "--model-dir", str(run), "--load-epoch", "2",
              *tiny_opts(tiny_clip_file, *extra))
    assert json.loads((tmp_path / "eval" / "results.json").read_text())["accuracy"] == trained["accuracy"]


def test_zeroshot_script_evaluates_without_training(caltech_root, tiny_clip_file, tmp_path):
    env = {"DATA": caltech_root, "OUTPUT": str(tmp_path), "TAG": "tiny"}
    command = ["bash", "scripts/zsclip/zeroshot.sh", "caltech101", *tiny_opts(tiny_clip_file)]
    _, log = run_command(command, env=env)
    assert "a photo of a airplane." in log and "epoch [" not in log
    run = Path(tmp_path) / "caltech101" / "ZeroshotCLIP" / "vit_b16_tiny" / "seed1"
    results = json.loads((run / "results.json").read_text())
    assert results["trainer"] == "ZeroshotCLIP" and 0 <= results["accuracy"] <= 100
    _, log = run_command(command, env=env)
    assert "Results are available" in log

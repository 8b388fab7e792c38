"""The real entry points on synthetic data: scripts/lamm/main.sh, train.py and parse_test_res.py."""
import json
import re
from pathlib import Path

import pytest

from tests.fixtures import run_command, run_train_process, tiny_opts

pytestmark = pytest.mark.slow  # a real entry point in a new process: run with -m slow or -m "not gpu"

CONFIG = "configs/trainers/LAMM/vit_b16_ep50_ctxv1_4shots.yaml"
DATASET_CONFIG = "configs/datasets/caltech101.yaml"


@pytest.fixture(scope="module")
def main_sh_output(caltech_root, tiny_clip_file, tmp_path_factory):
    output = tmp_path_factory.mktemp("output")
    env = {"DATA": caltech_root, "OUTPUT": str(output), "TAG": "tiny"}
    _, log = run_command(["bash", "scripts/lamm/main.sh", "caltech101", "4", *tiny_opts(tiny_clip_file)], env=env)
    return output, env, log


def experiment_dir(output):
    return Path(output) / "caltech101" / "LAMM" / "vit_b16_ep50_ctxv1_4shots_tiny"


def test_main_sh_trains_three_seeds_with_checkpoints_logs_and_results(main_sh_output):
    output, _, _ = main_sh_output
    accuracies = []
    for seed in (1, 2, 3):
        run = experiment_dir(output) / f"seed{seed}"
        assert (run / "prompt_learner" / "model.pth.tar-2").is_file()
        assert (run / "prompt_learner" / "checkpoint").read_text().strip() == "model.pth.tar-2"
        log = (run / "log.txt").read_text()
        assert "Finish training" in log and "Finished training" in log
        logged = float(re.findall(r"\* accuracy: ([\d.]+)%", log)[-1])
        results = json.loads((run / "results.json").read_text())
        assert results["seed"] == seed and results["trainer"] == "LAMM" and results["num_shots"] == 4
        assert results["accuracy"] == pytest.approx(logged, abs=0.05)
        assert "TRAINER:" in (run / "config.yaml").read_text()
        accuracies.append(results["accuracy"])

    _, table = run_command(["python", "parse_test_res.py", str(output)])
    mean = sum(accuracies) / 3
    std = (sum((a - mean) ** 2 for a in accuracies) / 3) ** 0.5
    row = next(line for line in table.splitlines() if "vit_b16_ep50_ctxv1_4shots_tiny" in line)
    assert f"{mean:.2f} ± {std:.2f}" in row and "1,2,3" in row.replace(" ", "")

    _, coop_style = run_command(["python", "parse_test_res.py", str(experiment_dir(output))])
    assert f"* accuracy: {mean:.2f}% +- {std:.2f}%" in coop_style


def test_main_sh_skips_finished_runs_and_resumes_unfinished_ones(main_sh_output, tiny_clip_file):
    output, env, _ = main_sh_output
    command = ["bash", "scripts/lamm/main.sh", "caltech101", "4", *tiny_opts(tiny_clip_file)]
    _, log = run_command(command, env=env)
    assert log.count("Results are available") == 3 and "epoch [" not in log

    (experiment_dir(output) / "seed2" / "results.json").unlink()  # as if killed before the test
    _, log = run_command(command, env=env)
    assert "Resuming" in log and "Found checkpoint at" in log and "Previous epoch: 2" in log
    assert "epoch [" not in log  # nothing left to train: only the test runs again
    assert (experiment_dir(output) / "seed2" / "results.json").is_file()


def test_eval_only_reproduces_the_accuracy_of_the_trained_model(main_sh_output, caltech_root, tiny_clip_file, tmp_path):
    output, _, _ = main_sh_output
    run = experiment_dir(output) / "seed1"
    trained = json.loads((run / "results.json").read_text())["accuracy"]
    run_train_process("--root", caltech_root, "--seed", "1", "--trainer", "LAMM", "--dataset-config-file", DATASET_CONFIG,
              "--config-file", CONFIG, "--output-dir", str(tmp_path / "eval"), "--eval-only",
              "--model-dir", str(run), "--load-epoch", "2", *tiny_opts(tiny_clip_file))
    evaluated = json.loads((tmp_path / "eval" / "results.json").read_text())
    assert evaluated["accuracy"] == trained and evaluated["eval_only"] is True and evaluated["epoch"] == 2

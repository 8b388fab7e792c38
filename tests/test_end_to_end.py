"""The real entry points on synthetic data: scripts/lamm/main.sh, train.py and parse_test_res.py."""
import json
import re
import shutil
from pathlib import Path

import pytest

from tests.fixtures import run_command, run_train, tiny_opts

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
    run_train("--root", caltech_root, "--seed", "1", "--trainer", "LAMM", "--dataset-config-file", DATASET_CONFIG,
              "--config-file", CONFIG, "--output-dir", str(tmp_path / "eval"), "--eval-only",
              "--model-dir", str(run), "--load-epoch", "2", *tiny_opts(tiny_clip_file))
    evaluated = json.loads((tmp_path / "eval" / "results.json").read_text())
    assert evaluated["accuracy"] == trained and evaluated["eval_only"] is True and evaluated["epoch"] == 2


@pytest.mark.parametrize("change, message", [
    (["TRAINER.LAMM.LAMDA_WC", "1.0"], r"Unknown config key TRAINER.LAMM.LAMDA_WC .*Did you mean TRAINER.LAMM.LAMBDA_WC"),
    (["OPTIM.MAX_EPOCH", "2.5"], r"Invalid value in the command-line options"),
    (["--trainer", "LAM"], r"Unknown trainer 'LAM' \(--trainer\)\. Did you mean LAMM"),
    (["--config-file", "configs/trainers/LAMM/vit_b16.yaml"], r"Config file not found: .*Files in .*vit_b16_ep50_ctxv1_16shots.yaml"),
    (["INPUT.SIZE", "(224, 224)"], r"INPUT.SIZE \(224, 224\) does not match .* \(32\)"),
    (["--root", "/nonexistent/data"], r"dataset root /nonexistent/data does not exist.*python -m datasets.prepare caltech101 --root /nonexistent/data"),
    (["TRAINER.COOP.PREC", "fp8"], r"Unknown precision 'fp8'"),
])
def test_bad_input_is_one_clear_message(change, message, caltech_root, tiny_clip_file, tmp_path):
    flags = {"--root": caltech_root, "--seed": "1", "--trainer": "LAMM", "--dataset-config-file": DATASET_CONFIG,
             "--config-file": CONFIG, "--output-dir": str(tmp_path / "bad")}
    opts = tiny_opts(tiny_clip_file)
    if change[0].startswith("--"):
        flags[change[0]] = change[1]
    else:
        opts += change
    code, output = run_train(*[x for pair in flags.items() for x in pair], *opts, check=False)
    assert code == 2, output[-3000:]
    assert re.search(message, output), output[-3000:]
    assert "Traceback" not in output


def test_unknown_dataset_and_missing_split_file(caltech_root, tiny_clip_file, tmp_path):
    bad_dataset = tmp_path / "caltech.yaml"
    bad_dataset.write_text('DATASET:\n  NAME: "Caltech"\n')
    code, output = run_train("--root", caltech_root, "--trainer", "LAMM", "--dataset-config-file", str(bad_dataset),
                             "--config-file", CONFIG, "--output-dir", str(tmp_path / "x"), *tiny_opts(tiny_clip_file),
                             check=False)
    assert code == 2 and "Unknown dataset 'Caltech'" in output and "Did you mean Caltech101" in output

    root = tmp_path / "data"
    shutil.copytree(caltech_root, root)
    (root / "caltech-101" / "split_zhou_Caltech101.json").unlink()
    code, output = run_train("--root", str(root), "--trainer", "LAMM", "--dataset-config-file", DATASET_CONFIG,
                             "--config-file", CONFIG, "--output-dir", str(tmp_path / "y"), *tiny_opts(tiny_clip_file),
                             check=False)
    # Caught before anything is written, with the command that fetches the split file.
    assert code == 2 and "split_zhou_Caltech101.json" in output and "python -m datasets.prepare caltech101" in output
    assert "Traceback" not in output and not (tmp_path / "y").exists()

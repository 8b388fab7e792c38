"""Nothing lost: a run killed by a real signal resumes and ends exactly where an uninterrupted one does."""
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from tests.fixtures import REPO_ROOT, run_train_process, tiny_opts

pytestmark = pytest.mark.slow  # a real entry point in a new process: run with -m slow or -m "not gpu"

EPOCHS = "6"


def train_command(caltech_root, clip_file, output):
    return [sys.executable, "train.py", "--root", caltech_root, "--seed", "3", "--trainer", "CoOpLAMM",
            "--dataset-config-file", "configs/datasets/caltech101.yaml",
            "--config-file", "configs/trainers/CoOpLAMM/vit_b16_ep50_ctxv1_4shots.yaml",
            "--output-dir", str(output), *tiny_opts(clip_file, "OPTIM.MAX_EPOCH", EPOCHS, "OPTIM.LR", "0.05")]


def final_state(output):
    checkpoint = torch.load(Path(output) / "prompt_learner" / f"model.pth.tar-{EPOCHS}", weights_only=True)
    return checkpoint["state_dict"]


def test_a_killed_run_resumes_and_matches_an_uninterrupted_run(caltech_root, tiny_clip_file, tmp_path):
    reference, interrupted = tmp_path / "reference", tmp_path / "interrupted"
    run_train_process(*train_command(caltech_root, tiny_clip_file, reference)[2:])

    env = dict(os.environ, PYTHONUNBUFFERED="1", LAMM_VERBOSE="1")  # "Checkpoint saved" is set-up detail on screen
    process = subprocess.Popen(train_command(caltech_root, tiny_clip_file, interrupted), cwd=REPO_ROOT, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    for line in process.stdout:
        if line.startswith("Checkpoint saved to") and line.strip().endswith("model.pth.tar-2"):
            process.send_signal(signal.SIGKILL)
            break
    process.wait()
    assert process.returncode == -signal.SIGKILL
    assert not (interrupted / "results.json").exists()

    _, log = run_train_process(*train_command(caltech_root, tiny_clip_file, interrupted)[2:])
    assert "Found checkpoint at" in log
    resumed_from = int(log.split("Previous epoch: ")[1].split()[0])
    assert 2 <= resumed_from < int(EPOCHS)
    assert f"epoch [{resumed_from + 1}/{EPOCHS}]" in log and "epoch [1/" not in log

    for key, value in final_state(reference).items():
        torch.testing.assert_close(final_state(interrupted)[key], value, rtol=0, atol=0)
    accuracy = lambda run: json.loads((run / "results.json").read_text())["accuracy"]
    assert accuracy(interrupted) == accuracy(reference)
    # Only the final checkpoint is left once the run has finished.
    assert sorted(os.listdir(interrupted / "prompt_learner")) == ["checkpoint", f"model.pth.tar-{EPOCHS}"]

    _, log = run_train_process(*train_command(caltech_root, tiny_clip_file, interrupted)[2:])
    assert f"Previous epoch: {EPOCHS}" in log and "epoch [" not in log  # finished: not retrained

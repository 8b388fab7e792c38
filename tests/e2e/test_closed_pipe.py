"""The commands piped into a reader that stops early (``| head``): a quiet end, status 141.

The reader's end is closed before the command writes, so every write fails (EPIPE), whatever
the size of the output; before the shared wrapper (lamm.errors.run_command) each printed a
BrokenPipeError traceback.
"""
import subprocess
import sys

import pytest

from tests.fixtures import REPO_ROOT
from tests.run_folders import LAMM_EXPS, record, write_run
from tests.trained_runs import predict_data, split_test_images, trained_run  # noqa: F401

pytestmark = pytest.mark.slow  # a real entry point in a new process: run with -m slow or -m "not gpu"


def run_into_closed_pipe(*command):
    process = subprocess.Popen([sys.executable, *map(str, command)], cwd=REPO_ROOT, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    process.stdout.close()  # the reader is gone before the first line
    err = process.stderr.read()
    return process.wait(timeout=120), err


def test_parse_test_res_into_a_closed_pipe(tmp_path):
    for experiment, accuracies in LAMM_EXPS.items():
        for seed, accuracy in enumerate(accuracies, 1):
            write_run(tmp_path, experiment, seed, results=record(seed=seed, acc=accuracy))
    code, err = run_into_closed_pipe("parse_test_res.py", tmp_path)
    assert code == 141 and "Traceback" not in err and "BrokenPipeError" not in err, err


def test_predict_into_a_closed_pipe(trained_run, predict_data):
    images = [path for path, _ in split_test_images(predict_data)]
    code, err = run_into_closed_pipe("predict.py", "--model-dir", trained_run("LAMM"), *images)
    assert code == 141 and "Traceback" not in err and "BrokenPipeError" not in err and "Exception ignored" not in err, err

"""predict.py, tools/export.py and tools/inspect_labels.py run by their file's path from another
folder: they find the project's packages beside them (``python -m tools.export`` needs the
repository root as the current folder; Python itself fails before any of our code runs)."""
import subprocess
import sys

import pytest

from tests.fixtures import REPO_ROOT
from tests.trained_runs import predict_data, split_test_images, trained_run  # noqa: F401

pytestmark = pytest.mark.slow  # a real entry point in a new process: run with -m slow or -m "not gpu"


def run_elsewhere(folder, *command):
    result = subprocess.run([sys.executable, *map(str, command)], cwd=folder, capture_output=True, text=True,
                            timeout=300)
    return result.returncode, result.stdout, result.stderr


def test_the_commands_run_by_path_from_another_folder(trained_run, predict_data, tmp_path):
    run = trained_run("LAMM")
    code, out, err = run_elsewhere(tmp_path, REPO_ROOT / "tools" / "export.py", run, "caltech_lamm")
    assert code == 0, err[-2000:]
    assert (tmp_path / "caltech_lamm.safetensors").is_file() and (tmp_path / "caltech_lamm.json").is_file()
    code, out, err = run_elsewhere(tmp_path, REPO_ROOT / "tools" / "inspect_labels.py", run)
    assert code == 0 and "moved most:" in out, err[-2000:]
    image = split_test_images(predict_data)[0][0]
    code, out, err = run_elsewhere(tmp_path, REPO_ROOT / "predict.py", "--model-dir", run, image)
    assert code == 0 and out.startswith(image), err[-2000:]

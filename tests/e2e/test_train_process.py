"""train.py as a process: what needs a second process or the real command line."""
import pytest

from tests.fixtures import run_train_process, tiny_opts

pytestmark = pytest.mark.slow  # a real entry point in a new process: run with -m slow or -m "not gpu"

CONFIG = "configs/trainers/LAMM/vit_b16_ep50_ctxv1_4shots.yaml"


DATASET_CONFIG = "configs/datasets/caltech101.yaml"


def train_flags(root, output, *opts):
    return ["--root", str(root), "--seed", "1", "--trainer", "LAMM", "--dataset-config-file", DATASET_CONFIG,
            "--config-file", CONFIG, "--output-dir", str(output), *opts]


def test_a_second_process_on_the_same_run_is_refused(caltech_root, tiny_clip_file, tmp_path):
    from lamm.files import RunLock

    output = tmp_path / "run"
    with RunLock(str(output)):
        code, log = run_train_process(*train_flags(caltech_root, output, *tiny_opts(tiny_clip_file)), check=False)
    assert code == 2 and "is being run by another process" in log

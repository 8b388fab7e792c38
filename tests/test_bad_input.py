"""Bad input gets one message that names the problem and the fix, never a deep traceback."""
import re
import shutil
from pathlib import Path

import pytest
import torch
from dassl.engine import build_trainer

import train
from lamm.errors import ConfigError
from tests.fixtures import run_command, run_train, tiny_opts, train_args
from trainers.checkpoints import read_checkpoint

CONFIG = "configs/trainers/LAMM/vit_b16_ep50_ctxv1_4shots.yaml"
DATASET_CONFIG = "configs/datasets/caltech101.yaml"


def train_flags(root, output, *opts):
    return ["--root", str(root), "--seed", "1", "--trainer", "LAMM", "--dataset-config-file", DATASET_CONFIG,
            "--config-file", CONFIG, "--output-dir", str(output), *opts]


@pytest.mark.parametrize("workers", ["0", "1"])
def test_a_corrupt_image_is_named(workers, caltech_root, tiny_clip_file, tmp_path):
    root = tmp_path / "data"
    shutil.copytree(caltech_root, root)
    images = sorted((root / "caltech-101" / "101_ObjectCategories").rglob("*.jpg"))
    for image in images:
        image.write_bytes(b"not a jpeg")  # every image, so whichever the loader reads first is bad
    code, output = run_train(*train_flags(root, tmp_path / "run", *tiny_opts(tiny_clip_file, "DATALOADER.NUM_WORKERS", workers)),
                             check=False)
    assert code == 2, output[-2000:]
    assert "error: Cannot read image" in output and "corrupt" in output
    assert "Traceback" not in output


@pytest.mark.parametrize("opts, message", [
    (["DATASET.NUM_SHOTS", "0"], r"DATASET.NUM_SHOTS must be a number of images per class"),
    (["OPTIM.MAX_EPOCH", "0"], r"OPTIM.MAX_EPOCH must be >= 1"),
])
def test_impossible_values_are_rejected_before_anything_runs(opts, message, caltech_root, tiny_clip_file, tmp_path):
    code, output = run_train(*train_flags(caltech_root, tmp_path / "run", *tiny_opts(tiny_clip_file, *opts)), check=False)
    assert code == 2 and re.search(message, output), output[-2000:]
    assert not (tmp_path / "run").exists()  # nothing is written before the checks pass


def test_script_rejects_non_positive_shots():
    code, output = run_command(["bash", "scripts/lamm/main.sh", "caltech101", "0"], check=False)
    assert code == 2 and "SHOTS must be a positive number" in output


def test_a_checkpoint_of_another_trainer_family_says_which(caltech_root, tiny_clip_file, tmp_path):
    cfg = train.setup_cfg(train_args(caltech_root, tmp_path / "run", opts=tiny_opts(tiny_clip_file)))
    trainer = build_trainer(cfg)
    maple_run = tmp_path / "maple_run"
    (maple_run / "MultiModalPromptLearner").mkdir(parents=True)
    with pytest.raises(FileNotFoundError, match="holds a MultiModalPromptLearner checkpoint, written by MaPLe"):
        trainer.load_model(str(maple_run), epoch=5)


def test_a_second_process_on_the_same_run_is_refused(caltech_root, tiny_clip_file, tmp_path):
    from lamm.files import RunLock

    output = tmp_path / "run"
    with RunLock(str(output)):
        code, log = run_train(*train_flags(caltech_root, output, *tiny_opts(tiny_clip_file)), check=False)
    assert code == 2 and "is being run by another process" in log


def test_checkpoints_never_run_pickled_code(tmp_path):
    class Payload:
        def __reduce__(self):
            return (Path.touch, (tmp_path / "pwned",))

    path = tmp_path / "evil.pth"
    torch.save({"state_dict": {"ctx": torch.zeros(2)}, "epoch": 1, "extra": Payload()}, path)
    with pytest.raises(ConfigError, match="was not loaded: it holds pickled code"):
        read_checkpoint(str(path))
    assert not (tmp_path / "pwned").exists()

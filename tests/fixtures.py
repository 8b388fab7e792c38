"""Fixtures for runs on synthetic data: a tiny CLIP file, a Caltech101-layout dataset, configs."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tools.runs import METHODS
from tools.synthetic_data import make_caltech101
from tools.tiny_clip import TINY_IMAGE_SIZE, save_tiny_clip

REPO_ROOT = Path(__file__).resolve().parent.parent

# Overrides that make any shipped config run on the tiny CLIP, on the CPU, in seconds.
TINY_OVERRIDES = [
    "INPUT.SIZE", f"({TINY_IMAGE_SIZE}, {TINY_IMAGE_SIZE})",
    "DATALOADER.NUM_WORKERS", "0",
    "DATALOADER.TRAIN_X.BATCH_SIZE", "8",
    "TRAINER.COOP.PREC", "fp32",
    "OPTIM.MAX_EPOCH", "2",
    "TRAIN.PRINT_FREQ", "1",
]


@pytest.fixture(scope="session")
def tiny_clip_file(tmp_path_factory):
    return save_tiny_clip(tmp_path_factory.mktemp("clip") / "tiny_clip.pt")


@pytest.fixture(scope="session")
def caltech_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("data")
    make_caltech101(str(root), num_classes=4, train_per_class=8, val_per_class=4, test_per_class=4)
    return str(root)


# Trainers that learn something, and the overrides that keep MaPLe's deep prompts tiny.
LEARNING_TRAINERS = tuple(name for name, method in METHODS.items() if method.few_shot)
MAPLE_TINY = ["TRAINER.MAPLE.PREC", "fp32", "TRAINER.MAPLE.PROMPT_DEPTH", "3"]


def trainer_config(trainer, shots=4) -> str:
    """The shipped config file of a trainer at ``shots`` (the method table says which file)."""
    return str(METHODS[trainer].config_file(shots))


def tiny_opts(tiny_clip_file, *extra):
    return ["MODEL.BACKBONE.NAME", tiny_clip_file, *TINY_OVERRIDES, *extra]


def train_args(root, output_dir, trainer="LAMM", config="configs/trainers/LAMM/vit_b16_ep50_ctxv1_4shots.yaml",
               dataset_config="configs/datasets/caltech101.yaml", seed=1, opts=(), **flags):
    """The argparse namespace train.py would build for these flags."""
    import train

    argv = ["--root", root, "--output-dir", str(output_dir), "--seed", str(seed), "--trainer", trainer,
            "--dataset-config-file", str(REPO_ROOT / dataset_config), "--config-file", str(REPO_ROOT / config)]
    for flag, value in flags.items():
        argv += [f"--{flag.replace('_', '-')}"] + ([] if value is True else [str(value)])
    return train.build_parser().parse_args(argv + list(opts))


def run_command(command, env=None, check=True):
    """Run a command from the repository root and return (returncode, stdout + stderr)."""
    full_env = dict(os.environ, PYTHON=sys.executable, **(env or {}))
    result = subprocess.run(command, cwd=REPO_ROOT, env=full_env, capture_output=True, text=True)
    output = result.stdout + result.stderr
    if check and result.returncode != 0:
        raise AssertionError(f"{command} failed with {result.returncode}:\n{output[-4000:]}")
    return result.returncode, output


def run_train(*args, check=True):
    return run_command([sys.executable, "train.py", *args], check=check)


def dataset_cfg(name, root, shots=-1, seed=1, subsample=None):
    """A bare Dassl config that builds dataset ``name`` from ``root`` (no trainer keys)."""
    from dassl.config import get_cfg_default

    cfg = get_cfg_default()
    cfg.DATASET.NAME = name
    cfg.DATASET.ROOT = str(root)
    cfg.DATASET.NUM_SHOTS = shots
    cfg.SEED = seed
    if subsample is not None:
        # Not a Dassl default: train.py's extend_cfg adds it; yacs accepts a new key on an unfrozen node.
        cfg.DATASET.SUBSAMPLE_CLASSES = subsample
    return cfg

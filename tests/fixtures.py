"""Fixtures for runs on synthetic data: a tiny CLIP file, a Caltech101-layout dataset, configs."""
import contextlib
import functools
import io
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tools.synthetic.data import make_caltech101
from tools.synthetic.tiny_clip import TINY_IMAGE_SIZE, save_tiny_clip
from trainers.methods import METHODS

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
COCOOP_TINY = ["TRAINER.COCOOP.PREC", "fp32"]


def own_tiny_opts(trainer):
    """The overrides a trainer's own options node needs on the tiny CLIP on the CPU."""
    return MAPLE_TINY if "MaPLe" in trainer else COCOOP_TINY if "CoCoOp" in trainer else []


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


class _Console(io.StringIO):
    """Captured output that survives Dassl's Logger, which closes the stream it wraps when it goes."""

    def close(self):
        pass


def run_in_process(entry, *args, check=True, streams=False):
    """``entry(argv)``, a command's main block, run in this process from the repository root:
    (exit status, stdout + stderr), or with ``streams`` (exit status, stdout, stderr). A new
    interpreter would add seconds of imports per call; tests/e2e run the real commands."""
    console, errors = _Console(), _Console()
    code, cwd = 0, os.getcwd()
    os.chdir(REPO_ROOT)  # where the command runs, as run_command does
    try:
        with contextlib.redirect_stdout(console), contextlib.redirect_stderr(errors):  # also undoes Dassl's Logger
            entry([str(arg) for arg in args])
    except SystemExit as exit_:
        code = exit_.code if isinstance(exit_.code, int) else (0 if exit_.code is None else 1)
    finally:
        os.chdir(cwd)
    output = console.getvalue() + errors.getvalue()
    if check and code != 0:
        raise AssertionError(f"{' '.join(map(str, args))} failed with {code}:\n{output[-4000:]}")
    return (code, console.getvalue(), errors.getvalue()) if streams else (code, output)


def run_train(*args, check=True):
    """``python train.py ARGS`` in this process (``train.cli`` is all its main block runs). The
    environment report, a second per run, is collected once per test session."""
    import train

    if not hasattr(train.collect_env_info, "cache_info"):
        train.collect_env_info = functools.lru_cache(maxsize=1)(train.collect_env_info)
    return run_in_process(train.cli, *args, check=check)


def run_tool(main, *args, check=True, streams=False):
    """A command whose main block is ``lamm.errors.run_command(main)`` (predict.py, tools.export,
    tools.inspect_labels), run in this process with ``args``."""
    from lamm.errors import run_command as run_main

    return run_in_process(lambda argv: run_main(lambda: main(argv)), *args, check=check, streams=streams)


def run_train_process(*args, check=True):
    """``python train.py ARGS`` in a new process, as a user runs it."""
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


def tiny_trainer(trainer, root, clip_file, output, *extra):
    """A Dassl trainer built as train.py builds it, from the trainer's shipped config on the tiny CLIP."""
    import torch
    from dassl.engine import build_trainer

    import train

    opts = tiny_opts(clip_file, *own_tiny_opts(trainer), *extra)
    cfg = train.setup_cfg(train_args(root, output, trainer=trainer, config=trainer_config(trainer), opts=opts))
    torch.manual_seed(0)
    return build_trainer(cfg)


@pytest.fixture(scope="session")
def lamm_run(caltech_root, tiny_clip_file, tmp_path_factory):
    """A finished 2-epoch LAMM run of the 4-shot config on ``caltech_root``, through train.py's command line."""
    run = tmp_path_factory.mktemp("runs") / "caltech101" / "LAMM" / "seed1"
    run_train("--root", caltech_root, "--seed", "1", "--trainer", "LAMM", "--dataset-config-file",
              "configs/datasets/caltech101.yaml", "--config-file", "configs/trainers/LAMM/vit_b16_ep50_ctxv1_4shots.yaml",
              "--output-dir", str(run),
              *tiny_opts(tiny_clip_file))
    return run


@pytest.fixture
def fake_prepare(monkeypatch):
    from datasets.prepare import ensure as prepare_data

    """datasets.prepare and datasets.check replaced: nothing is fetched; records what was prepared."""
    state = {"present": set(), "prepared": []}
    monkeypatch.setattr(prepare_data, "_check", lambda info, root: None if info.key in state["present"] else
                        f"{info.name} is not ready under {root}: its folder is missing. Get it with "
                        f"`python -m datasets.prepare {info.key} --root {root}`.")

    def prepare(key, root):
        state["prepared"].append(key)
        state["present"].add(key)
        return 0

    monkeypatch.setattr(prepare_data, "_prepare", prepare)
    monkeypatch.setattr(prepare_data, "_manual_steps", lambda info, root: "    1. register and download by hand")
    monkeypatch.delenv(prepare_data.NO_DOWNLOAD_ENV, raising=False)
    return state


@pytest.fixture
def silent_proxy():
    import socket
    import threading

    """A proxy on 127.0.0.1 that accepts every connection and never answers; yields (url, connections)."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(64)
    server.settimeout(0.2)
    accepted, stop = [], threading.Event()

    def accept():
        while not stop.is_set():
            try:
                accepted.append(server.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.getsockname()[1]}", accepted
    stop.set()
    thread.join()
    for connection in accepted:
        connection.close()
    server.close()

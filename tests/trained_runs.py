"""A finished run of every trainer on the tiny CLIP and a synthetic Caltech101, made once per session.

Shared by the tests of predict.py, tools/inspect_labels.py and tools/export.py.
"""
import json
from pathlib import Path

import pytest

from tests.fixtures import own_tiny_opts, run_train, tiny_opts, trainer_config

# Module-level caches: each test module imports the fixtures, which pytest would otherwise run
# once per module.
_RUNS = {}
_DATA = {}


def make_run(trainer, root, clip_file, output, *extra):
    opts = tiny_opts(clip_file, *own_tiny_opts(trainer), "OPTIM.LR", "0.05", *extra)
    flags = ["--eval-only"] if trainer == "ZeroshotCLIP" else []
    run_train("--root", root, "--seed", "1", "--trainer", trainer, "--dataset-config-file",
              "configs/datasets/caltech101.yaml", "--config-file", trainer_config(trainer), "--output-dir", str(output),
              *flags, *opts)
    return Path(output)


@pytest.fixture(scope="session")
def predict_data(tmp_path_factory):
    """5 classes, 8 test images each: accuracy steps of 2.5 %."""
    from tools.synthetic.data import make_caltech101

    if "root" not in _DATA:
        root = tmp_path_factory.mktemp("predict_data")
        make_caltech101(str(root), num_classes=5, train_per_class=6, val_per_class=4, test_per_class=8)
        _DATA["root"] = str(root)
    return _DATA["root"]


def save_tiny_clip_archive(path) -> str:
    """The tiny CLIP as a TorchScript archive, the form OpenAI releases, which ``clip.load`` reads
    too (it cannot read a plain state dict): the export recipe runs on it unchanged."""
    import warnings

    import clip
    import torch

    from tools.synthetic.tiny_clip import TINY_IMAGE_SIZE, build_tiny_clip

    inputs = (torch.zeros(1, 3, TINY_IMAGE_SIZE, TINY_IMAGE_SIZE), clip.tokenize(["a photo"]))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.jit.trace(build_tiny_clip(), inputs, check_trace=False).save(str(path))
    return str(path)


@pytest.fixture(scope="session")
def trained_run(predict_data, tmp_path_factory):
    """trained_run(trainer) -> the finished run folder of that trainer (made on first use)."""
    def get(trainer):
        if "clip" not in _DATA:
            _DATA["clip"] = save_tiny_clip_archive(tmp_path_factory.mktemp("clip_archive") / "tiny_clip_jit.pt")
        if trainer not in _RUNS:
            _RUNS[trainer] = make_run(trainer, predict_data, _DATA["clip"], tmp_path_factory.mktemp(trainer))
        return _RUNS[trainer]
    return get


def split_test_images(root):
    """(absolute path, label) of the synthetic dataset's test split, from its split file."""
    folder = Path(root) / "caltech-101"
    split = json.loads((folder / "split_zhou_Caltech101.json").read_text())
    return [(str(folder / "101_ObjectCategories" / path), label) for path, label, _ in split["test"]]


def unfinished_copy(run, folder, max_epoch=6):
    """A copy of a finished run as the same run killed after its last saved epoch looks on disk:
    its config.yaml plans ``max_epoch`` epochs and it has no results.json."""
    import shutil

    copy = Path(folder) / f"{Path(run).name}_unfinished"
    shutil.copytree(run, copy)
    config = (copy / "config.yaml").read_text()
    assert config.count("  MAX_EPOCH: 2\n") == 1
    (copy / "config.yaml").write_text(config.replace("  MAX_EPOCH: 2\n", f"  MAX_EPOCH: {max_epoch}\n"))
    (copy / "results.json").unlink()
    return copy

"""Checkpoints in CoOp's layout: written atomically, read safely (``weights_only=True``).

Layout: ``<run>/<model name>/model.pth.tar-<epoch>`` plus a text file ``checkpoint`` naming the
latest one; each file is a dict with ``state_dict``, ``epoch``, ``optimizer``, ``scheduler``,
``val_result`` (as Dassl writes it) and ``rng_state``, which lets a resumed run continue with the
same random numbers, so it ends where an uninterrupted run ends. Only the latest checkpoint and
the final one are kept.

Checkpoints written by the CoOp repository load too: their ``token_prefix``/``token_suffix``
buffers are dropped (they are rebuilt from CLIP and the class names), as CoOp itself does.
"""
import os
import os.path as osp
import pickle
import random
import re

import numpy as np
import torch

from lamm.files import atomic_write, atomic_write_text

from lamm.errors import ConfigError

# Buffers that CoOp, MaPLe and the official LAMM code save but that are recomputed here.
REBUILT_KEYS = ("token_prefix", "token_suffix", "token_suffix_test", "fix_token")


def checkpoint_file(folder: str, epoch=None) -> str:
    """``model.pth.tar-<epoch>``, else ``model-best.pth.tar``, else the latest one saved."""
    if epoch is not None:
        return osp.join(folder, f"model.pth.tar-{epoch}")
    best = osp.join(folder, "model-best.pth.tar")
    latest_note = osp.join(folder, "checkpoint")
    if not osp.exists(best) and osp.exists(latest_note):
        with open(latest_note) as note:
            return osp.join(folder, note.read().strip())
    return best


class _Inert:
    """Stands in for any pickled object that is not a tensor or a plain value; runs no code."""

    def __init__(self, *args, **kwargs):
        pass

    def __setstate__(self, state):
        pass


def read_checkpoint(path: str) -> dict:
    """Read a checkpoint without running pickled code.

    Checkpoints written by Dassl's own trainers (CoOp, MaPLe, the official LAMM code) pickle
    scheduler and optimizer objects; those become inert placeholders, and the tensors load.
    """
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as error:
        if not hasattr(torch.serialization, "get_unsafe_globals_in_checkpoint"):
            raise ConfigError(f"{path} holds pickled Python objects; reading it needs PyTorch >= 2.5.") from error
    foreign = torch.serialization.get_unsafe_globals_in_checkpoint(path)
    print(f"Skipping pickled objects in {path}: {', '.join(foreign)}")
    try:
        with torch.serialization.safe_globals([(_Inert, name) for name in foreign]):
            return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as error:
        raise ConfigError(
            f"{path} was not loaded: it holds pickled code ({', '.join(foreign)}) that only runs with "
            "weights_only=False. Load it only if you trust its source, and re-save its state_dict."
        ) from error


LABELS = "label_embeddings."


def _adopt_label_embeddings(module, state: dict, path: str, unseen_classes: str = "error") -> dict:
    """Move saved label embeddings onto this model's classes by class id (see LabelEmbeddings).

    Returns the state without the label keys it consumed. The label space may differ: an
    ImageNet model's labels serve its 200 ImageNet-A classes, a model of all classes serves one
    half of them.
    """
    labels = getattr(module, "label_embeddings", None)
    source = {key[len(LABELS):]: value for key, value in state.items() if key.startswith(LABELS)}
    if labels is None or "class_index" not in source:
        return state
    adopted, total = labels.adopt(source), len(labels.class_ids)
    if adopted < total:
        if unseen_classes != "init":
            raise ConfigError(
                f"{path} has label embeddings for {adopted} of this dataset's {total} classes: it was "
                "trained on other classes (another dataset, or the other half of the classes). To evaluate "
                "the missing ones with their word embeddings (the zero-shot prompt), set "
                "TRAINER.LAMM.UNSEEN_CLASSES init."
            )
        print(f"{total - adopted} of {total} classes are not in {path}: they keep their word embeddings")
    return {key: value for key, value in state.items() if not key.startswith(LABELS)}


def _missing_checkpoint_hint(folder: str) -> str:
    if osp.isdir(folder):
        available = sorted(f for f in os.listdir(folder) if f.startswith("model"))
        return f" Available: {', '.join(available)}." if available else ""
    run = osp.dirname(folder)
    others = sorted(f for f in os.listdir(run) if osp.isdir(osp.join(run, f))) if osp.isdir(run) else []
    known = {"prompt_learner": "CoOp, LAMM or CoOpLAMM", "MultiModalPromptLearner": "MaPLe or MaPLeLAMM"}
    for other in others:
        if other in known:
            return (f" {run} holds a {other} checkpoint, written by {known[other]}: "
                    "use that trainer, or --model-dir of a run of this one.")
    return " Check --model-dir (the run's output folder)."


def load_prompt_learner_checkpoint(module: torch.nn.Module, folder: str, epoch=None, name: str = "prompt_learner",
                                   unseen_classes: str = "error") -> int:
    """Load a saved state into ``module`` and return the checkpoint's epoch."""
    path = checkpoint_file(folder, epoch)
    if not osp.exists(path):
        raise FileNotFoundError(f'Model not found at "{path}".{_missing_checkpoint_hint(folder)}')
    checkpoint = read_checkpoint(path)
    state = checkpoint.get("state_dict", checkpoint)
    state = {key[len("module."):] if key.startswith("module.") else key: value for key, value in state.items()}
    state = {key: value for key, value in state.items() if key.split(".")[-1] not in REBUILT_KEYS}

    state = _adopt_label_embeddings(module, state, path, unseen_classes)
    own = module.state_dict()
    for key, value in state.items():
        if key in own and own[key].shape != value.shape:
            raise ConfigError(
                f"{path}: {key} has shape {tuple(value.shape)} in the checkpoint but {tuple(own[key].shape)} "
                "here. The checkpoint was trained on other classes or another prompt shape "
                "(dataset, DATASET.SUBSAMPLE_CLASSES, N_CTX, LABEL_TOKENS or trainer differ)."
            )
    unexpected = sorted(set(state) - set(own))
    missing = sorted(key for key in own if key not in state)
    if unexpected:
        print(f"Ignored keys not used by {name}: {unexpected}")
    if missing:
        print(f"Keys not in the checkpoint (kept at their initial values): {missing}")
    saved_epoch = checkpoint.get("epoch", epoch)
    print(f'Loading weights to {name} from "{path}" (epoch = {saved_epoch})')
    module.load_state_dict(state, strict=False)
    return saved_epoch


def capture_rng_state() -> dict:
    """Python, NumPy and torch random states as tensors and plain values (weights_only-safe)."""
    numpy_state = np.random.get_state()
    return {
        "python": random.getstate(),
        "numpy": [numpy_state[0], numpy_state[1].tolist(), *numpy_state[2:]],
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
    }


def restore_rng_state(state: dict) -> None:
    version, internal, gauss = state["python"]
    random.setstate((version, tuple(internal), gauss))
    name, keys, *rest = state["numpy"]
    np.random.set_state((name, np.asarray(keys, dtype=np.uint32), *rest))
    torch.set_rng_state(state["torch"])
    if state["cuda"] and torch.cuda.is_available() and len(state["cuda"]) == torch.cuda.device_count():
        torch.cuda.set_rng_state_all(state["cuda"])


EPOCH_FILE = re.compile(r"^model\.pth\.tar-(\d+)$")


def save_checkpoint_atomically(state: dict, folder: str, filename: str, keep_epochs=()) -> str:
    """Write ``folder/filename`` (and the ``checkpoint`` note) so a kill never leaves half a file.

    Epoch checkpoints other than this one and ``keep_epochs`` are deleted afterwards.
    """
    path = osp.join(folder, filename)
    atomic_write(path, lambda tmp_path: torch.save(state, tmp_path))
    atomic_write_text(osp.join(folder, "checkpoint"), filename + "\n")
    for name in os.listdir(folder):
        match = EPOCH_FILE.match(name)
        if match and name != filename and int(match.group(1)) not in keep_epochs:
            os.remove(osp.join(folder, name))
    print(f"Checkpoint saved to {path}")
    return path


def latest_checkpoint(folder: str):
    """The file the ``checkpoint`` note names, or None when there is none."""
    note = osp.join(folder, "checkpoint")
    if not osp.isfile(note):
        return None
    with open(note) as handle:
        path = osp.join(folder, handle.read().strip())
    return path if osp.isfile(path) else None

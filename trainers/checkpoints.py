"""Load prompt-learner checkpoints in CoOp's layout safely (``torch.load(weights_only=True)``).

Layout: ``<run>/<model name>/model.pth.tar-<epoch>`` plus a text file ``checkpoint`` naming the
latest one; each file is a dict with ``state_dict``, ``epoch``, ``optimizer``, ``scheduler``.
Checkpoints written by the CoOp repository load too: their ``token_prefix``/``token_suffix``
buffers are dropped (they are rebuilt from CLIP and the class names), as CoOp itself does.
"""
import os
import os.path as osp
import pickle

import torch

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
    with torch.serialization.safe_globals([(_Inert, name) for name in foreign]):
        return torch.load(path, map_location="cpu", weights_only=True)


def load_prompt_learner_checkpoint(module: torch.nn.Module, folder: str, epoch=None, name: str = "prompt_learner") -> int:
    """Load a saved state into ``module`` and return the checkpoint's epoch."""
    path = checkpoint_file(folder, epoch)
    if not osp.exists(path):
        available = sorted(f for f in os.listdir(folder) if f.startswith("model")) if osp.isdir(folder) else []
        hint = f" Available: {', '.join(available)}." if available else " Check --model-dir (the run's output folder)."
        raise FileNotFoundError(f'Model not found at "{path}".{hint}')
    checkpoint = read_checkpoint(path)
    state = checkpoint.get("state_dict", checkpoint)
    state = {key[len("module."):] if key.startswith("module.") else key: value for key, value in state.items()}
    state = {key: value for key, value in state.items() if key.split(".")[-1] not in REBUILT_KEYS}

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

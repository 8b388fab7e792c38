"""Checkpoint save/load/resume and parameter helpers."""
import os.path as osp
import pickle
import shutil
import warnings
from collections import OrderedDict

import torch
import torch.nn as nn

from .tools import mkdir_if_missing

__all__ = [
    "save_checkpoint",
    "load_checkpoint",
    "resume_from_checkpoint",
    "open_all_layers",
    "open_specified_layers",
    "count_num_param",
    "load_pretrained_weights",
]


def _strip_module_prefix(state_dict):
    out = OrderedDict()
    for key, value in state_dict.items():
        out[key[len("module."):] if key.startswith("module.") else key] = value
    return out


def save_checkpoint(
    state, save_dir, is_best=False, remove_module_from_keys=True,
    model_name=""
):
    """Write ``state`` to ``save_dir/<model_name>``.

    The default file name is ``model.pth.tar-<state["epoch"]>``. The base
    name of the written file is recorded in ``save_dir/checkpoint``; with
    ``is_best`` the file is also copied to ``model-best.pth.tar``.
    """
    mkdir_if_missing(save_dir)
    if remove_module_from_keys:
        state["state_dict"] = _strip_module_prefix(state["state_dict"])

    fname = model_name or f"model.pth.tar-{state['epoch']}"
    fpath = osp.join(save_dir, fname)
    torch.save(state, fpath)
    print(f"Checkpoint saved to {fpath}")

    with open(osp.join(save_dir, "checkpoint"), "w+") as f:
        f.write(osp.basename(fpath) + "\n")

    if is_best:
        best_fpath = osp.join(osp.dirname(fpath), "model-best.pth.tar")
        shutil.copy(fpath, best_fpath)
        print(f'Best checkpoint saved to "{best_fpath}"')


def load_checkpoint(fpath):
    """``torch.load`` on CPU unless CUDA is present.

    No ``weights_only`` argument is passed, so torch's own default applies
    (True on torch >= 2.6). Python-2 pickles are retried with latin1.
    """
    if fpath is None:
        raise ValueError("File path is None")
    if not osp.exists(fpath):
        raise FileNotFoundError(f'File is not found at "{fpath}"')

    map_location = None if torch.cuda.is_available() else "cpu"
    try:
        return torch.load(fpath, map_location=map_location)
    except UnicodeDecodeError:
        return torch.load(
            fpath, pickle_module=pickle, map_location=map_location,
            encoding="latin1"
        )
    except Exception:
        print(f'Unable to load checkpoint from "{fpath}"')
        raise


def resume_from_checkpoint(fdir, model, optimizer=None, scheduler=None):
    """Load the file named in ``fdir/checkpoint``; returns its epoch."""
    with open(osp.join(fdir, "checkpoint"), "r") as f:
        fname = f.readlines()[0].strip("\n")
    fpath = osp.join(fdir, fname)

    print(f'Loading checkpoint from "{fpath}"')
    ckpt = load_checkpoint(fpath)
    model.load_state_dict(ckpt["state_dict"])
    print("Loaded model weights")

    if optimizer is not None and "optimizer" in ckpt:
        optimizer.load_state_dict(ckpt["optimizer"])
        print("Loaded optimizer")

    if scheduler is not None and "scheduler" in ckpt:
        scheduler.load_state_dict(ckpt["scheduler"])
        print("Loaded scheduler")

    epoch = ckpt["epoch"]
    print(f"Previous epoch: {epoch}")
    return epoch


def open_all_layers(model):
    model.train()
    for p in model.parameters():
        p.requires_grad = True


def open_specified_layers(model, open_layers):
    """Train only the named child modules; freeze (and eval) the rest."""
    if isinstance(model, nn.DataParallel):
        model = model.module
    if isinstance(open_layers, str):
        open_layers = [open_layers]
    for layer in open_layers:
        assert hasattr(model, layer), f"{layer} is not an attribute"
    for name, module in model.named_children():
        is_open = name in open_layers
        module.train(is_open)
        for p in module.parameters():
            p.requires_grad = is_open


def count_num_param(model=None, params=None):
    if model is not None:
        return sum(p.numel() for p in model.parameters())
    if params is not None:
        return sum(
            p["params"].numel() if isinstance(p, dict) else p.numel()
            for p in params
        )
    raise ValueError("model and params must provide at least one.")


def load_pretrained_weights(model, weight_path):
    """Copy the tensors of a checkpoint whose name AND size match.

    ``module.`` prefixes are ignored; mismatching keys are reported.
    """
    ckpt = load_checkpoint(weight_path)
    state_dict = ckpt["state_dict"] if "state_dict" in ckpt else ckpt

    own = model.state_dict()
    matched, discarded = OrderedDict(), []
    for key, value in state_dict.items():
        if key.startswith("module."):
            key = key[len("module."):]
        if key in own and own[key].size() == value.size():
            matched[key] = value
        else:
            discarded.append(key)

    own.update(matched)
    model.load_state_dict(own)

    if not matched:
        warnings.warn(
            f"Cannot load {weight_path} (check the key names manually)"
        )
        return
    print(f"Successfully loaded pretrained weights from {weight_path}")
    if discarded:
        print(
            f"Layers discarded due to unmatched keys or size: {discarded}"
        )

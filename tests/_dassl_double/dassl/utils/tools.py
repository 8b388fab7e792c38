"""Small file-system, JSON, seeding and lookup helpers."""
import difflib
import json
import os
import os.path as osp
import random
import warnings

import numpy as np
import PIL
import torch
from PIL import Image

__all__ = [
    "mkdir_if_missing",
    "check_isfile",
    "read_json",
    "write_json",
    "set_random_seed",
    "read_image",
    "collect_env_info",
    "listdir_nohidden",
    "get_most_similar_str_to_a_from_b",
    "check_availability",
    "tolist_if_not",
]


def mkdir_if_missing(dirname):
    """Create ``dirname`` (and parents) unless it already exists."""
    if not osp.exists(dirname):
        os.makedirs(dirname, exist_ok=True)


def check_isfile(fpath):
    """True if ``fpath`` is a regular file; warns when it is not."""
    found = osp.isfile(fpath)
    if not found:
        warnings.warn(f'No file found at "{fpath}"')
    return found


def read_json(fpath):
    with open(fpath, "r") as f:
        return json.load(f)


def write_json(obj, fpath):
    """Dump ``obj`` to ``fpath`` (indent 4), creating the parent folder."""
    mkdir_if_missing(osp.dirname(fpath))
    with open(fpath, "w") as f:
        json.dump(obj, f, indent=4, separators=(",", ": "))


def set_random_seed(seed):
    """Seed Python's ``random``, NumPy and torch (CPU and all GPUs)."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    torch.cuda.manual_seed_all(seed)


def read_image(path):
    """Open an image with PIL and convert it to RGB."""
    return Image.open(path).convert("RGB")


def collect_env_info():
    """torch's environment report followed by the Pillow version."""
    from torch.utils.collect_env import get_pretty_env_info

    return get_pretty_env_info() + f"\n        Pillow ({PIL.__version__})"


def listdir_nohidden(path, sort=False):
    """``os.listdir`` without names starting with a dot."""
    names = [n for n in os.listdir(path) if not n.startswith(".")]
    if sort:
        names.sort()
    return names


def get_most_similar_str_to_a_from_b(a, b):
    """The entry of ``b`` closest to ``a`` (difflib ratio; ties go to the
    later entry)."""
    best, best_ratio = None, 0
    for candidate in b:
        ratio = difflib.SequenceMatcher(None, a, candidate).ratio()
        if ratio >= best_ratio:
            best, best_ratio = candidate, ratio
    return best


def check_availability(requested, available):
    """Raise ValueError (with a suggestion) if ``requested`` is unknown."""
    if requested in available:
        return
    guess = get_most_similar_str_to_a_from_b(requested, available)
    raise ValueError(
        f"The requested one is expected to belong to {available}, "
        f"but got [{requested}] (do you mean [{guess}]?)"
    )


def tolist_if_not(x):
    return x if isinstance(x, list) else [x]

"""Where a dataset's folder is under DATASET.ROOT (and how to say so when it is not there)."""
import os

from lamm.errors import ConfigError

from .errors import DatasetNotFoundError


def _layout_help(name, root, layout):
    return (
        f"{name} expects this layout under DATASET.ROOT ({root}):\n{layout.rstrip()}\n"
        f"Pass the folder that holds it with --root DIR (the scripts use $DATA).")


def locate_misplaced(root, dataset_dir, subdir):
    """Where ``subdir`` of ``<root>/<dataset_dir>`` sits one or two levels off, or None."""
    base = os.path.join(root, dataset_dir)
    leaf = os.path.basename(subdir.rstrip("/")) if subdir else dataset_dir
    candidates = []
    if os.path.isdir(base):
        for entry in sorted(os.listdir(base)):
            inner = os.path.join(base, entry)
            if os.path.isdir(inner) and not entry.startswith("."):
                candidates.append(os.path.join(inner, subdir))
                candidates.append(os.path.join(inner, leaf))
    if subdir:
        candidates.append(os.path.join(root, subdir))
        candidates.append(os.path.join(base, leaf))  # imagenet/train for imagenet/images/train
    for path in candidates:
        if os.path.isdir(path) and os.path.normpath(path) != os.path.normpath(os.path.join(base, subdir)):
            return path
    return None


def find_dataset_dir(root, dataset_dir, *, name, layout, subdirs=()):
    """Resolve ``<root>/<dataset_dir>`` and check that it and its ``subdirs`` exist."""
    if not str(root).strip():
        raise ConfigError(f"DATASET.ROOT is empty. {_layout_help(name, '<unset>', layout)}")
    root = os.path.abspath(os.path.expanduser(root))
    if not os.path.isdir(root):
        raise DatasetNotFoundError(f"Dataset root not found: {root}. {_layout_help(name, root, layout)}")
    path = os.path.join(root, dataset_dir)
    if not os.path.isdir(path):
        raise DatasetNotFoundError(
            f"{name} folder not found: {path}. {_layout_help(name, root, layout)}\n"
            f"`python -m datasets.prepare check --root {root}` lists what is present and what is missing.")
    for sub in subdirs:
        if not os.path.isdir(os.path.join(path, sub)):
            found = locate_misplaced(root, dataset_dir, sub)
            moved = f" Found {found}: move it to {os.path.join(path, sub)}." if found else ""
            raise DatasetNotFoundError(
                f"{name} folder {path} has no {sub}/.{moved} {_layout_help(name, root, layout)}")
    return path


CACHE_ENV = "LAMM_CACHE_DIR"
# Where an earlier version (and CoOp) cached subsets inside the dataset folder: read, never written.
LEGACY_DIRNAME = "split_fewshot"


def cache_root():
    """The project's cache folder: ``$LAMM_CACHE_DIR``, else ``$XDG_CACHE_HOME/lamm``, else ``~/.cache/lamm``."""
    if os.environ.get(CACHE_ENV):
        return os.path.abspath(os.path.expanduser(os.environ[CACHE_ENV]))
    xdg = os.environ.get("XDG_CACHE_HOME")
    return os.path.join(os.path.abspath(os.path.expanduser(xdg)) if xdg else os.path.expanduser("~/.cache"), "lamm")


def fewshot_cache_dir(dataset_key, fingerprint):
    """The folder of the K-shot caches drawn from the split with this fingerprint."""
    return os.path.join(cache_root(), "fewshot", dataset_key, fingerprint[:16])


def fewshot_cache_path(cache_dir, num_shots, seed):
    """Where the K-shot subset for ``seed`` is cached (CoOp's name, with .json for .pkl)."""
    return os.path.join(cache_dir, f"shot_{num_shots}-seed_{seed}.json")

"""What every CoOp-style reader shares: finding its folder and turning a split file into data.

CoOp repeats this in each of its eleven reader files; here a reader names its folders and
split file and calls ``find_dataset_dir`` and ``load_coop_splits``:

    dataset_dir = find_dataset_dir(cfg.DATASET.ROOT, "caltech-101", name="Caltech101",
                                   layout=LAYOUT, subdirs=["101_ObjectCategories"])
    train, val, test = load_coop_splits(self, cfg, split_path=..., path_prefix=...)
"""
import os

from lamm.errors import ConfigError

from .base_new import subsample_classes, subsample_setting
from .errors import DatasetNotFoundError
from .fewshot import fewshot_subset
from .split_file import file_sha256, read_split

FEWSHOT_DIRNAME = "split_fewshot"


def _layout_help(name, root, layout):
    return (
        f"{name} expects this layout under DATASET.ROOT ({root}):\n{layout.rstrip()}\n"
        f"Pass the folder that holds it with --root DIR (the scripts use $DATA)."
    )


def find_dataset_dir(root, dataset_dir, *, name, layout, subdirs=()):
    """Resolve ``<root>/<dataset_dir>`` and check that it and its ``subdirs`` exist.

    Args:
        root: ``cfg.DATASET.ROOT`` (``~`` and relative paths are resolved, as in CoOp).
        dataset_dir: the dataset's folder name, e.g. "caltech-101".
        name: the dataset's registered name, for messages.
        layout: an indented sketch of the expected files, shown when something is missing.
        subdirs: folders that must exist inside the dataset folder (e.g. the image folder).

    Returns:
        The absolute dataset folder.
    """
    if not str(root).strip():
        raise ConfigError(f"DATASET.ROOT is empty. {_layout_help(name, '<unset>', layout)}")
    root = os.path.abspath(os.path.expanduser(root))
    if not os.path.isdir(root):
        raise DatasetNotFoundError(f"Dataset root not found: {root}. {_layout_help(name, root, layout)}")
    path = os.path.join(root, dataset_dir)
    if not os.path.isdir(path):
        raise DatasetNotFoundError(f"{name} folder not found: {path}. {_layout_help(name, root, layout)}")
    for sub in subdirs:
        if not os.path.isdir(os.path.join(path, sub)):
            raise DatasetNotFoundError(
                f"{name} folder {path} has no {sub}/. {_layout_help(name, root, layout)}"
            )
    return path


def load_coop_splits(dataset, cfg, *, split_path, path_prefix, how_to_get=""):
    """Read the split file, draw the K-shot subset and keep the base/new classes, as CoOp does.

    Args:
        dataset: the reader being built (its ``generate_fewshot_dataset`` draws the subset).
        cfg: the config; reads ``DATASET.NUM_SHOTS``, ``SEED`` and ``DATASET.SUBSAMPLE_CLASSES``.
        split_path: the ``split_zhou_<Name>.json`` file; the few-shot cache goes to
            ``split_fewshot/`` next to it.
        path_prefix: the folder the split's image paths are relative to.
        how_to_get: a sentence telling the user how to obtain a missing split file.

    Returns:
        ``(train, val, test)`` lists of Datum, ready for ``DatasetBase.__init__``.
    """
    subsample = subsample_setting(cfg)  # checked first: a typo must not cost a sampling run
    train, val, test = read_split(split_path, path_prefix, how_to_get)
    train, val = fewshot_subset(
        dataset,
        train,
        val,
        num_shots=cfg.DATASET.NUM_SHOTS,
        seed=cfg.SEED,
        cache_dir=os.path.join(os.path.dirname(split_path), FEWSHOT_DIRNAME),
        path_prefix=path_prefix,
        fingerprint=file_sha256(split_path),
    )
    return subsample_classes(train, val, test, subsample=subsample)

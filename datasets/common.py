"""What every CoOp-style reader shares: finding its folder and turning a split file into data.

CoOp repeats this in each of its eleven reader files; here a reader whose data is a CoOp split
file only names its catalog entry (``datasets/catalog.py``):

    @DATASET_REGISTRY.register()
    class OxfordPets(SplitFileDataset):
        info = CATALOG["oxford_pets"]

and readers with their own lists (FGVCAircraft, ImageNet) call ``find_dataset_dir`` and
``finish_splits`` (few-shot subset with its cache, then base/new classes).
"""
import os

from dassl.data.datasets import DatasetBase

from lamm.errors import ConfigError

from .base_new import (
    FullLabelSpace,
    half_labels,
    keep_training_half,
    subsample_classes,
    subsample_setting,
    train_classes_setting,
)
from .catalog import missing_split_hint
from .errors import DatasetNotFoundError
from .fewshot import fewshot_subset
from .split_file import file_sha256, read_split

FEWSHOT_DIRNAME = "split_fewshot"


def _layout_help(name, root, layout):
    return (
        f"{name} expects this layout under DATASET.ROOT ({root}):\n{layout.rstrip()}\n"
        f"Pass the folder that holds it with --root DIR (the scripts use $DATA)."
    )


def locate_misplaced(root, dataset_dir, subdir):
    """Where ``subdir`` of ``<root>/<dataset_dir>`` sits one or two levels off, or None.

    Catches the usual extraction slips: an extra level (``food-101/food-101/images``, Kaggle's
    ``cars_train/cars_train``) or the content extracted next to the dataset folder.
    """
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
        raise DatasetNotFoundError(
            f"{name} folder not found: {path}. {_layout_help(name, root, layout)}\n"
            f"`python -m datasets.prepare check --root {root}` lists what is present and what is missing."
        )
    for sub in subdirs:
        if not os.path.isdir(os.path.join(path, sub)):
            found = locate_misplaced(root, dataset_dir, sub)
            moved = f" Found {found}: move it to {os.path.join(path, sub)}." if found else ""
            raise DatasetNotFoundError(
                f"{name} folder {path} has no {sub}/.{moved} {_layout_help(name, root, layout)}"
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
    subsample_setting(cfg)  # checked first: a typo must not cost a sampling run
    train, val, test = read_split(split_path, path_prefix, how_to_get)
    return finish_splits(
        dataset,
        cfg,
        train,
        val,
        test,
        cache_dir=os.path.join(os.path.dirname(split_path), FEWSHOT_DIRNAME),
        path_prefix=path_prefix,
        fingerprint=file_sha256(split_path),
    )


def finish_splits(dataset, cfg, train, val, test, *, cache_dir, path_prefix, fingerprint):
    """The K-shot subset (train K, val min(K, 4), cached) and then the base/new classes.

    ``val=None`` draws from train only and returns ``(train, test)``, as CoOp's ImageNet does
    (its val is its test set). ``fingerprint`` identifies the data the subset is drawn from,
    so a cache drawn from other data is rebuilt.
    """
    subsample = subsample_setting(cfg)
    train_half = train_classes_setting(cfg)
    train, val = fewshot_subset(
        dataset,
        train,
        val,
        num_shots=cfg.DATASET.NUM_SHOTS,
        seed=cfg.SEED,
        cache_dir=cache_dir,
        path_prefix=path_prefix,
        fingerprint=fingerprint,
    )
    # Where each kept class sits among all classes, so that label embeddings can move between a
    # model of all classes and a model of one half (class-incremental learning).
    dataset.full_label_indices = half_labels({item.label for item in train}, subsample)
    if train_half != "all":
        train, val, dataset.label_space = keep_training_half(train, val, train_half)
    if val is None:
        return subsample_classes(train, test, subsample=subsample)
    return subsample_classes(train, val, test, subsample=subsample)


class SplitFileDataset(FullLabelSpace, DatasetBase):
    """A CoOp reader whose data is a ``split_zhou_<Name>.json`` file; subclasses set ``info``.

    Attributes match CoOp's readers: ``dataset_dir``, ``image_dir``, ``split_path`` and
    ``split_fewshot_dir`` (absolute paths).
    """

    info = None  # the dataset's CATALOG entry

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if cls.info is not None:
            cls.dataset_dir = cls.info.dataset_dir  # Dassl's class attribute, as in CoOp

    def __init__(self, cfg):
        info = self.info
        self.dataset_dir = find_dataset_dir(
            cfg.DATASET.ROOT, info.dataset_dir, name=info.name, layout=info.layout, subdirs=info.required_subdirs
        )
        self.image_dir = os.path.join(self.dataset_dir, info.image_dir) if info.image_dir else self.dataset_dir
        self.split_path = os.path.join(self.dataset_dir, info.split_file)
        self.split_fewshot_dir = os.path.join(self.dataset_dir, FEWSHOT_DIRNAME)
        prefix = self.dataset_dir if info.split_prefix == "dataset_dir" else self.image_dir
        train, val, test = load_coop_splits(
            self,
            cfg,
            split_path=self.split_path,
            path_prefix=prefix,
            how_to_get=missing_split_hint(info, os.path.dirname(self.dataset_dir)),
        )
        super().__init__(train_x=train, val=val, test=test)

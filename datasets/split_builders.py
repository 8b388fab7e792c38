"""Building a CoOp split from a dataset's official files, for ``prepare --build-split``.

CoOp builds ``split_zhou_<Name>.json`` on the first run when the file is missing, with two
procedures that shuffle with Python's ``random``:

- per class of a train+val list, the first ``round(0.2 n)`` shuffled images become val
  (``split_trainval``; Pets, Cars, SUN397, UCF101);
- per class folder, shuffled images are dealt 50 % train, 20 % val, the rest test
  (``split_class_folders``; Caltech101, Food101, DTD, EuroSAT; Flowers by label).

The readers here never build a split on the fly: CoOp's builder consumes the global ``random``
before the few-shot draw, so a run that built its split would draw another subset than the
same run with the file. Building is an explicit step with its own generator,
``random.Random(seed)``; with seed 1 it makes the shuffle calls CoOp's builder makes in a run
with ``--seed 1``. Folder listings are sorted (CoOp uses the file system's order, which varies
between machines), so a built split is the same on every machine. It is still not the
published file, whose random state is unknown: numbers from a built split are not comparable
with published ones.
"""
import os
from collections import defaultdict

from .errors import InvalidDatasetError
from .scan import list_dirs, list_files
from .split_file import checked_datum


def _require_positive(counts, classname, source):
    if min(counts.values()) <= 0:
        detail = ", ".join(f"{k} {v}" for k, v in counts.items())
        raise InvalidDatasetError(
            f"Class {classname!r} in {source} has too few images to split ({detail}); CoOp's split needs "
            f"at least one image in each part."
        )


def split_trainval(trainval, rng, p_val=0.2):
    """Split a train+val list per class: round(p_val * n) shuffled images of each class go to val.

    Classes are visited in first-appearance order and each class's items keep their list order
    before the shuffle, as in CoOp's ``OxfordPets.split_trainval``.
    """
    by_label = defaultdict(list)
    for index, item in enumerate(trainval):
        by_label[item.label].append(index)
    train, val = [], []
    for label, indices in by_label.items():
        n_val = round(len(indices) * p_val)
        _require_positive({"val": n_val}, trainval[indices[0]].classname, "the train+val list")
        rng.shuffle(indices)
        val.extend(trainval[i] for i in indices[:n_val])
        train.extend(trainval[i] for i in indices[n_val:])
    return train, val


def deal_per_class(groups, rng, p_trn=0.5, p_val=0.2, *, source):
    """Shuffle each class's images and deal them into train, val and test.

    Args:
        groups: ``[(label, classname, [impath, ...]), ...]`` in the order CoOp visits them.
        rng: a ``random.Random``.
    """
    train, val, test = [], [], []
    for label, classname, impaths in groups:
        impaths = list(impaths)
        rng.shuffle(impaths)
        n_train = round(len(impaths) * p_trn)
        n_val = round(len(impaths) * p_val)
        n_test = len(impaths) - n_train - n_val
        _require_positive({"train": n_train, "val": n_val, "test": n_test}, classname, source)
        parts = (impaths[:n_train], impaths[n_train : n_train + n_val], impaths[n_train + n_val :])
        for out, chunk in zip((train, val, test), parts):
            out.extend(checked_datum(p, label, classname, source) for p in chunk)
    return train, val, test


def split_class_folders(image_dir, rng, ignored=(), new_cnames=None, p_trn=0.5, p_val=0.2):
    """CoOp's split of a folder-per-class dataset (``DescribableTextures.read_and_split_data``).

    Labels follow the sorted folder names (without ``ignored``); the stored class name is the
    folder name, or ``new_cnames[folder]`` when given.
    """
    folders = [f for f in list_dirs(image_dir) if f not in ignored]
    if not folders:
        raise InvalidDatasetError(f"{image_dir} has no class folders to build a split from.")
    groups = []
    for label, folder in enumerate(folders):
        class_dir = os.path.join(image_dir, folder)
        name = (new_cnames or {}).get(folder, folder)
        groups.append((label, name, [os.path.join(class_dir, f) for f in list_files(class_dir)]))
    return deal_per_class(groups, rng, p_trn, p_val, source=image_dir)


def read_text_lines(path, what):
    """Non-empty, stripped lines of an annotation file; a missing file is a clear error."""
    from .errors import DatasetNotFoundError

    if not os.path.isfile(path):
        raise DatasetNotFoundError(f"{what} not found: {path}.")
    with open(path, "r", encoding="utf-8") as f:
        return [line.strip() for line in f if line.strip()]

"""Base-to-new class split (CoCoOp's protocol), as CoOp's ``OxfordPets.subsample_classes``."""
import math

from dassl.data.datasets import Datum

from lamm.errors import ConfigError

SUBSAMPLE_CHOICES = ("all", "base", "new")


def subsample_setting(cfg):
    """``cfg.DATASET.SUBSAMPLE_CLASSES``, or "all" when the project's config extension is absent."""
    subsample = cfg.DATASET.get("SUBSAMPLE_CLASSES", "all")
    _check_choice(subsample)
    return subsample


def _check_choice(subsample):
    if subsample not in SUBSAMPLE_CHOICES:
        raise ConfigError(
            f"DATASET.SUBSAMPLE_CLASSES must be one of {list(SUBSAMPLE_CHOICES)}, got {subsample!r}.")


def half_labels(labels, half):
    """The sorted labels of the base (first ceil(n/2)) or new half, or all of them."""
    labels = sorted(set(labels))
    m = math.ceil(len(labels) / 2)
    return {"all": labels, "base": labels[:m], "new": labels[m:]}[half]


def train_classes_setting(cfg):
    """``cfg.DATASET.TRAIN_CLASSES``: whose images train (class-incremental stage 2: "new")."""
    half = cfg.DATASET.get("TRAIN_CLASSES", "all")
    if half not in SUBSAMPLE_CHOICES:
        raise ConfigError(f"DATASET.TRAIN_CLASSES must be one of {list(SUBSAMPLE_CHOICES)}, got {half!r}.")
    if half != "all" and subsample_setting(cfg) != "all":
        raise ConfigError(
            "DATASET.TRAIN_CLASSES picks the training images within all classes; use it with "
            "DATASET.SUBSAMPLE_CLASSES all (class-incremental stage 2: SUBSAMPLE_CLASSES all, TRAIN_CLASSES new).")
    return half


def keep_training_half(train, val, half):
    """Keep only the ``half`` classes' images in train and val; the label space is unchanged."""
    label_space = dict(sorted({(item.label, item.classname) for item in train}))
    keep = set(half_labels(label_space, half))
    print(f"TRAIN ON {half.upper()} CLASSES ONLY ({len(keep)} of {len(label_space)}), LABEL SPACE: ALL")
    filtered = lambda items: None if items is None else [item for item in items if item.label in keep]
    return filtered(train), filtered(val), label_space


def subsample_classes(*splits, subsample="all"):
    """Keep the base or new half of the classes in each split (lists of Datum)."""
    _check_choice(subsample)
    if subsample == "all":
        return tuple(splits)

    selected = half_labels({item.label for item in splits[0]}, subsample)
    relabel = {old: new for new, old in enumerate(selected)}

    print(f"SUBSAMPLE {subsample.upper()} CLASSES!")
    return tuple(
        [
            Datum(impath=item.impath, label=relabel[item.label], domain=item.domain, classname=item.classname)
            for item in items
            if item.label in relabel
        ]
        for items in splits)

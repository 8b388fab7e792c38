"""Base-to-new class split (CoCoOp's protocol), as CoOp's ``OxfordPets.subsample_classes``.

The sorted labels of the training split are cut in two: the first ceil(n/2) are the base
classes, the rest the new ones. The chosen half is kept in every split and relabelled 0..m-1
in sorted order, so e.g. 37 Pets classes give 19 base and 18 new.
"""
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
            f"DATASET.SUBSAMPLE_CLASSES must be one of {list(SUBSAMPLE_CHOICES)}, got {subsample!r}."
        )


def subsample_classes(*splits, subsample="all"):
    """Keep the base or new half of the classes in each split (lists of Datum).

    Returns a tuple with one list per input split; "all" returns the splits unchanged.
    """
    _check_choice(subsample)
    if subsample == "all":
        return tuple(splits)

    labels = sorted({item.label for item in splits[0]})
    m = math.ceil(len(labels) / 2)
    selected = labels[:m] if subsample == "base" else labels[m:]
    relabel = {old: new for new, old in enumerate(selected)}

    print(f"SUBSAMPLE {subsample.upper()} CLASSES!")
    return tuple(
        [
            Datum(impath=item.impath, label=relabel[item.label], domain=item.domain, classname=item.classname)
            for item in items
            if item.label in relabel
        ]
        for items in splits
    )

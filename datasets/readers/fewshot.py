"""The K-shot training subset, drawn exactly as CoOp draws it and cached as JSON.

CoOp's readers call Dassl's ``DatasetBase.generate_fewshot_dataset`` twice, train with K shots
and then val with min(K, 4), on Python's global ``random`` seeded by ``set_random_seed(cfg.SEED)``;
this module makes the same two calls, so a seed gives the same images as CoOp. Like CoOp's
pickle, a cache hit does not touch ``random``.

The cache never goes into the data folder (``$DATA`` is often read-only or shared on clusters;
only ``prepare`` writes there): it lives in
``<cache>/fewshot/<dataset>/<split fingerprint>/shot_{K}-seed_{SEED}.json`` with ``<cache>`` from
``cache_root()``. The split-file format is used (paths relative to the image folder) instead of
CoOp's pickle, which can run code when loaded and stores absolute paths; keyed by the split's
fingerprint, two data roots with the same split share a cache and a changed split never meets
an old one. Files are written by atomic rename, so concurrent runs that draw the same subset
both succeed and readers see one whole file. A cache that an earlier version wrote into
``<dataset>/split_fewshot/`` is still read when it matches, never written.
"""
import os
from collections import Counter

from lamm.files import atomic_write_json

from ..errors import InvalidDatasetError
from ..layout import CACHE_ENV, LEGACY_DIRNAME, cache_root, fewshot_cache_dir, fewshot_cache_path  # noqa: F401  (where caches lie)
from ..split_file import datums_to_records, read_json_file, records_to_datums

# CoOp validates on at most 4 images per class, whatever K is.
MAX_VAL_SHOTS = 4


def require_enough_per_class(items, num_shots, split_name):
    """Refuse a K-shot subset when some class has fewer than K images.

    Dassl then silently keeps all of that class's images, so a "16-shot" run would train on
    fewer shots for some classes and its numbers would not be comparable with other K-shot
    results; an error makes the user choose a smaller K or a larger split.
    """
    counts = Counter(item.label for item in items)
    short = sorted(label for label, n in counts.items() if n < num_shots)
    if not short:
        return
    names = {item.label: item.classname for item in items}
    first = short[0]
    others = f" ({len(short) - 1} more classes are short too)" if len(short) > 1 else ""
    raise InvalidDatasetError(
        f"Class {names[first]!r} (label {first}) has only {counts[first]} {split_name} images, "
        f"fewer than the {num_shots} shots requested{others}. Lower DATASET.NUM_SHOTS (--shots in "
        f"the scripts) or use a split with more images per class."
    )


def _load_cache(cache_path, fingerprint, path_prefix, stale="rebuilding it"):
    """The cached (train, val), or None when the cache is absent, unreadable or stale."""
    if not os.path.isfile(cache_path):
        return None
    try:
        data = read_json_file(cache_path, what="Few-shot cache")
        if data["split_fingerprint"] != fingerprint:
            print(f"Few-shot cache {cache_path} was drawn from a different split; {stale}")
            return None
        records = {key: data[key] for key in ("train", "val") if data[key] is not None}
        datums = records_to_datums(records, path_prefix, cache_path)
    except (ValueError, KeyError, TypeError) as e:
        print(f"Few-shot cache {cache_path} is unreadable ({e}); {stale}")
        return None
    return datums["train"], datums.get("val")


def fewshot_subset(dataset, train, val, *, num_shots, seed, cache_dir, path_prefix, fingerprint, legacy_dir=None):
    """Reduce ``train`` to ``num_shots`` images per class and ``val`` to ``min(num_shots, 4)``.

    Args:
        dataset: the reader (a Dassl ``DatasetBase``), whose ``generate_fewshot_dataset`` draws
            the subset from the global ``random`` exactly as in CoOp.
        train, val: lists of Datum from the split file. ``val=None`` draws train only, as CoOp's
            ImageNet reader does (its val is the test set and must stay whole).
        num_shots: K (``cfg.DATASET.NUM_SHOTS``); below 1, the splits come back unchanged.
        seed: ``cfg.SEED``, used only to name the cache file (the caller seeds ``random``).
        cache_dir: the cache folder, ``fewshot_cache_dir(dataset key, fingerprint)`` for a reader.
        path_prefix: the folder that cached image paths are relative to.
        fingerprint: identifies the split the subset is drawn from (``file_sha256`` of the split
            file); a cache with another fingerprint is rebuilt.
        legacy_dir: a dataset's ``split_fewshot`` folder, where an earlier version cached; a
            matching cache there is read, nothing is ever written there.

    Returns:
        ``(train, val)`` lists of Datum (``val`` stays None when given None).
    """
    if num_shots < 1:
        return train, val
    val_shots = min(num_shots, MAX_VAL_SHOTS)
    cache_path = fewshot_cache_path(cache_dir, num_shots, seed)

    cached = _load_cache(cache_path, fingerprint, path_prefix)
    if cached is None and legacy_dir:
        legacy_path = fewshot_cache_path(legacy_dir, num_shots, seed)
        cached = _load_cache(legacy_path, fingerprint, path_prefix, stale="not used (never rewritten)")
        if cached is not None:
            cache_path = legacy_path
    if cached is not None:
        print(f"Loading preprocessed few-shot data from {cache_path}")
        return cached

    # Checked before sampling, so an error leaves ``random`` untouched.
    require_enough_per_class(train, num_shots, "train")
    if val is not None:
        require_enough_per_class(val, val_shots, "val")
    train = dataset.generate_fewshot_dataset(train, num_shots=num_shots)
    if val is not None:
        val = dataset.generate_fewshot_dataset(val, num_shots=val_shots)

    print(f"Saving preprocessed few-shot data to {cache_path}")
    record = {
        "num_shots": num_shots,
        "seed": seed,
        "split_fingerprint": fingerprint,
        "train": datums_to_records(train, path_prefix),
        "val": None if val is None else datums_to_records(val, path_prefix),
    }
    try:
        atomic_write_json(cache_path, record)
    except OSError as e:  # the cache only saves time; an unwritable one must not stop a run
        print(f"Could not write the few-shot cache ({e}); continuing without it. Set {CACHE_ENV} to a "
              f"writable folder to cache subsets.")
    return train, val

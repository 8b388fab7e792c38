"""The K-shot training subset, drawn exactly as CoOp draws it and cached as JSON."""
import os
from collections import Counter

from lamm.files import atomic_write_json

from ..errors import InvalidDatasetError
from ..layout import CACHE_ENV, LEGACY_DIRNAME, cache_root, fewshot_cache_dir, fewshot_cache_path  # noqa: F401  (where caches lie)
from ..split_file import datums_to_records, read_json_file, records_to_datums

# CoOp validates on at most 4 images per class, whatever K is.
MAX_VAL_SHOTS = 4


def require_enough_per_class(items, num_shots, split_name):
    """Refuse a K-shot subset when some class has fewer than K images."""
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
        f"the scripts) or use a split with more images per class.")


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
    """Reduce ``train`` to ``num_shots`` images per class and ``val`` to ``min(num_shots, 4)``."""
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

"""CoOp's split-file format (``split_zhou_<Name>.json``), read and written in one place."""
import hashlib
import json
import os
import stat
from collections import Counter, namedtuple

from lamm.files import atomic_write_json

from .errors import DatasetNotFoundError, InvalidDatasetError, UnreadableFileError

SPLIT_NAMES = ("train", "val", "test")
# One image as the readers and builders handle it before Dassl (same attributes as Dassl's Datum).
ImageRecord = namedtuple("ImageRecord", "impath label domain classname")


def datum_class():
    """Dassl's ``Datum``, imported on first use: ``prepare`` and ``check`` read split files without Dassl."""
    from dassl.data.datasets import Datum

    return Datum


def gdrive_download_hint(file_id, dest):
    """How to fetch a file that CoOp publishes on Google Drive, for error messages."""
    return (
        f"Download it from https://drive.google.com/file/d/{file_id}/view "
        f"(e.g. `gdown {file_id} -O {dest}`).")


def file_sha256(path):
    """Hex SHA-256 of a file's bytes (the fingerprint that ties a cache to its split)."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_json_file(path, what="JSON file"):
    """Load a JSON file; a syntax error becomes an InvalidDatasetError that names the file."""
    try:
        f = open(path, "r", encoding="utf-8")
    except PermissionError as e:
        raise UnreadableFileError(
            f"cannot read {path} ({e.strerror}): give your user read access to the datasets under "
            f"{os.path.dirname(os.path.dirname(os.path.abspath(path)))}.") from e
    with f:
        try:
            return json.load(f)
        except json.JSONDecodeError as e:
            raise InvalidDatasetError(f"{what} {path} is not valid JSON ({e}).") from e


def _check_records(records, source, key):
    if not isinstance(records, list):
        raise InvalidDatasetError(
            f"{source}: {key!r} must be a list of [impath, label, classname], got {type(records).__name__}.")
    for i, record in enumerate(records):
        ok = (
            isinstance(record, (list, tuple))
            and len(record) == 3
            and isinstance(record[0], str)
            and isinstance(record[2], str))
        if ok:
            try:
                int(record[1])
            except (TypeError, ValueError):
                ok = False
        if not ok:
            raise InvalidDatasetError(
                f"{source}: entry {i} of {key!r} is {record!r}, expected [impath, label, classname].")


def image_file_problem(path):
    """"missing", "empty" or None for an image path (one ``stat``; directories count as missing)."""
    try:
        st = os.stat(path)
    except OSError:
        return "missing"
    if not stat.S_ISREG(st.st_mode):
        return "missing"
    return "empty" if st.st_size == 0 else None


def nested_copy(impath, path_prefix):
    """Where a missing image sits in a folder nested once more under its own name, or None."""
    rel = relative_path(impath, path_prefix).split(os.sep)
    for i in range(len(rel) - 1):
        parent = os.path.join(path_prefix, *rel[: i + 1])
        candidate = os.path.join(parent, rel[i], *rel[i + 1 :])
        if os.path.isfile(candidate):
            return candidate
    images_copy = os.path.join(path_prefix, os.path.basename(path_prefix), *rel)
    return images_copy if os.path.isfile(images_copy) else None


def checked_record(impath, label, classname, source):
    """An ``ImageRecord`` of an image that exists; a missing one is named in a DatasetNotFoundError."""
    if image_file_problem(impath) == "missing":
        raise DatasetNotFoundError(f"Image {impath} listed in {source} is missing.")
    return ImageRecord(impath, int(label), 0, classname)


def class_name_conflict(named_records, source):
    """Why a label of ``{name: [[rel_impath, label, classname], ...]}`` has two class names, or None."""
    names, examples = {}, {}
    for key, records in named_records.items():
        for index, (rel_impath, label, name) in enumerate(records):
            names.setdefault(int(label), Counter())[name] += 1
            examples.setdefault((int(label), name), f"{key}[{index}] {rel_impath}")
    for label in sorted(names):
        if len(names[label]) > 1:
            (usual, n_usual), (odd, n_odd) = names[label].most_common(2)
            entries = "entry" if n_odd == 1 else "entries"
            return (
                f"{source}: label {label} has two class names: {usual!r} ({n_usual} entries, e.g. "
                f"{examples[(label, usual)]}) and {odd!r} ({n_odd} {entries}, e.g. {examples[(label, odd)]}). "
                f"A label has one class name: fix those entries or get the split file again.")
    return None


def label_range_problem(named_records, source):
    """Why an entry's label is not one of the train list's classes, or None."""
    train_labels = {int(record[1]) for record in named_records.get("train", [])}
    num_classes = len(train_labels)
    if not train_labels:
        return f"{source}: the train list is empty; a split file holds the training images of every class."
    for key, records in named_records.items():
        for index, (rel_impath, label, name) in enumerate(records):
            label = int(label)
            if 0 <= label < num_classes and (key == "train" or label in train_labels):
                continue
            return (
                f"{source}: {key}[{index}] {[rel_impath, label, name]!r} has label {label}, but the labels must be "
                f"0..{num_classes - 1}, one per class of the train list ({num_classes} classes). Fix that entry "
                f"or get the split file again.")
    return None


def records_to_datums(named_records, path_prefix, source):
    """Turn ``{name: [[rel_impath, label, classname], ...]}`` into ``{name: [Datum, ...]}``."""
    missing, empty = [], []
    total = 0
    for key, records in named_records.items():
        _check_records(records, source, key)
    conflict = class_name_conflict(named_records, source)
    if conflict:
        raise InvalidDatasetError(conflict)
    for key, records in named_records.items():
        for rel_impath, _, _ in records:
            total += 1
            impath = os.path.join(path_prefix, rel_impath)
            problem = image_file_problem(impath)
            if problem == "missing":
                missing.append(impath)
            elif problem == "empty":
                empty.append(impath)
    if missing:
        nested = nested_copy(missing[0], path_prefix)
        where = (
            f" It exists as {nested}: that folder is nested one level too deep; move its content up."
            if nested
            else f" Image paths are relative to {path_prefix}: check that the images are extracted there with "
            f"the expected layout.")
        raise DatasetNotFoundError(
            f"{len(missing)} of the {total} images listed in {source} are missing; the first is {missing[0]}.{where}")
    if empty:
        raise InvalidDatasetError(
            f"{len(empty)} of the {total} images listed in {source} are empty files (0 bytes); the "
            f"first is {empty[0]}. An extraction was probably interrupted: extract the archive again.")
    Datum = datum_class()
    return {
        key: [
            Datum(impath=os.path.join(path_prefix, rel), label=int(label), classname=name)
            for rel, label, name in records
        ]
        for key, records in named_records.items()
    }


def relative_path(path, path_prefix):
    """``path`` relative to ``path_prefix`` (a slice when it lies below; ``os.path.relpath`` is slow)."""
    head = os.path.join(path_prefix, "")
    return path[len(head):] if path.startswith(head) else os.path.relpath(path, path_prefix)


def datums_to_records(items, path_prefix):
    """Inverse of ``records_to_datums`` for one list: paths become relative to ``path_prefix``."""
    return [[relative_path(item.impath, path_prefix), int(item.label), item.classname] for item in items]


def read_split(split_path, path_prefix, how_to_get=""):
    """Read a CoOp split file into ``(train, val, test)`` lists of Datum."""
    if not os.path.isfile(split_path):
        raise DatasetNotFoundError(f"Split file not found: {split_path}. {how_to_get}".rstrip())
    print(f"Reading split from {split_path}")
    split = read_json_file(split_path, what="Split file")
    if not isinstance(split, dict) or any(key not in split for key in SPLIT_NAMES):
        raise InvalidDatasetError(
            f"Split file {split_path} must be a JSON object with the keys {list(SPLIT_NAMES)}.")
    named_records = {key: split[key] for key in SPLIT_NAMES}
    for key, records in named_records.items():
        _check_records(records, split_path, key)
    problem = label_range_problem(named_records, split_path)
    if problem:
        raise InvalidDatasetError(problem)
    datums = records_to_datums(named_records, path_prefix, split_path)
    return tuple(datums[key] for key in SPLIT_NAMES)


def write_split(train, val, test, split_path, path_prefix):
    """Write ``(train, val, test)`` as a CoOp split file with paths relative to ``path_prefix``."""
    split = {key: datums_to_records(items, path_prefix) for key, items in zip(SPLIT_NAMES, (train, val, test))}
    atomic_write_json(split_path, split)
    print(f"Saved split to {split_path}")

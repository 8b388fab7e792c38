"""Listing class folders, and light image records for the folder-scanned readers (ImageNet)."""
import hashlib
import os

from .errors import DatasetNotFoundError
from .split_file import ImageRecord, datum_class, relative_path


def list_dirs(path):
    """Sorted names of the non-hidden folders in ``path``."""
    with os.scandir(path) as entries:
        return sorted(e.name for e in entries if not e.name.startswith(".") and e.is_dir())


def list_files(path):
    """Sorted names of the non-hidden files in ``path`` (CoOp lists every non-hidden entry)."""
    with os.scandir(path) as entries:
        return sorted(e.name for e in entries if not e.name.startswith(".") and e.is_file())


def as_datums(items):
    """Turn ImageRecords into Dassl Datums; Datums pass through unchanged."""
    Datum = datum_class()
    return [
        item
        if isinstance(item, Datum)
        else Datum(impath=item.impath, label=item.label, domain=item.domain, classname=item.classname)
        for item in items
    ]


def records_fingerprint(items, path_prefix):
    """SHA-256 of (relative path, label, class name) of every item: identifies a scanned split."""
    digest = hashlib.sha256()
    for item in items:
        rel = relative_path(item.impath, path_prefix)
        digest.update(f"{rel}\t{item.label}\t{item.classname}\n".encode("utf-8"))
    return digest.hexdigest()


def files_fingerprint(paths):
    """SHA-256 over the names and bytes of ``paths`` (the official list files of a dataset)."""
    digest = hashlib.sha256()
    for path in paths:
        digest.update(os.path.basename(path).encode("utf-8") + b"\0")
        with open(path, "rb") as f:
            digest.update(f.read())
    return digest.hexdigest()


def scan_class_folders(image_dir, folders, classnames, labels=None, *, source):
    """ImageRecords for every image in ``image_dir/<folder>/`` for the given class folders."""
    items = []
    for index, folder in enumerate(folders):
        if folder not in classnames:
            raise DatasetNotFoundError(
                f"Class folder {os.path.join(image_dir, folder)} has no entry in {source}: check that "
                f"{source} is ImageNet's classnames.txt (1000 lines 'wnid name').")
        label = index if labels is None else labels[folder]
        class_dir = os.path.join(image_dir, folder)
        name = classnames[folder]
        items.extend(ImageRecord(os.path.join(class_dir, f), label, 0, name) for f in list_files(class_dir))
    return items

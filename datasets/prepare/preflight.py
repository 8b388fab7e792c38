"""Is a dataset laid out under DATASET.ROOT? Checked in milliseconds, before Dassl or torch start."""
import os

from ..catalog import BY_NAME, can_auto_download  # noqa: F401  (part of this module's interface)
from ..errors import DatasetNotReadyError
from ..layout import locate_misplaced
from ..official_lists import CLASSNAMES_FILE, LIST_FILES, VARIANTS_FILE


def required_files(info):
    """Files (relative to the dataset folder) that the reader of ``info`` opens before any image."""
    if info.kind == "split":
        return [info.split_file]
    if info.kind == "aircraft":
        return [VARIANTS_FILE, *LIST_FILES.values()]
    return [CLASSNAMES_FILE]  # ImageNet and its variants


def _not_ready(info, root, what):
    manual = "" if can_auto_download(info.key) else " (it prints the manual steps this dataset needs)"
    return DatasetNotReadyError(
        f"{info.name} is not ready under {root}: {what}. Get it with "
        f"`python -m datasets.prepare {info.key} --root {root}`{manual}.")


def check_dataset_ready(dataset_name: str, root: str) -> None:
    """Raise ``DatasetNotReadyError`` (one line) when dataset ``dataset_name`` is not laid out under ``root``."""
    info = BY_NAME.get(dataset_name)
    if info is None:
        return
    if not str(root).strip():
        raise DatasetNotReadyError(
            f"DATASET.ROOT is empty: pass --root DIR (the scripts use $DATA); "
            f"`python -m datasets.prepare {info.key} --root DIR` lays out {info.name} there.")
    root = os.path.abspath(os.path.expanduser(root))
    if not os.path.isdir(root):
        raise _not_ready(info, root, f"the dataset root {root} does not exist")
    dataset_dir = os.path.join(root, info.dataset_dir)
    if not os.path.isdir(dataset_dir):
        raise _not_ready(info, root, f"its folder {dataset_dir} is missing")
    for sub in info.required_subdirs:
        path = os.path.join(dataset_dir, sub)
        if not os.path.isdir(path):
            found = locate_misplaced(root, info.dataset_dir, sub)
            where = f" (found {found}: move it there)" if found else ""
            raise _not_ready(info, root, f"its images folder {path} is missing{where}")
    for name in required_files(info):
        path = os.path.join(dataset_dir, name)
        if not os.path.isfile(path):
            what = "split file" if info.kind == "split" else "file"
            raise _not_ready(info, root, f"its {what} {path} is missing")

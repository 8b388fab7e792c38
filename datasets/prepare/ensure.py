"""Before a run trains: each dataset it needs is there, or prepared now, or one clear error."""
import os
from typing import Iterable, Optional

from lamm.errors import LammError

NO_DOWNLOAD_ENV = "LAMM_NO_DOWNLOAD"


class DatasetNotReady(LammError):
    """A dataset a run needs is missing and is not (or cannot be) prepared automatically."""


def no_download_from_env() -> bool:
    return os.environ.get(NO_DOWNLOAD_ENV, "") not in ("", "0")


def prepare_command(key: str, root: str) -> str:
    return f"python -m datasets.prepare {key} --root {root}"


def _check(info, root: str) -> Optional[str]:
    """None when ``info``'s dataset is laid out under ``root``, else the one-line problem (fast: no Dassl)."""
    from .preflight import check_dataset_ready

    try:
        check_dataset_ready(info.name, root)
    except LammError as e:
        return str(e)
    return None


def _prepare(key: str, root: str) -> int:
    """What ``python -m datasets.prepare KEY --root ROOT`` does, in this process: 0 when the dataset is ready."""
    from ..catalog import lookup
    from .cli import options, prepare_datasets

    reports = prepare_datasets([lookup(key)], options(root))
    return 0 if all(report.ready for report in reports) else 1


def _manual_steps(info, root: str) -> str:
    from .cli import manual_text

    return manual_text(info, root, [])


def ensure_datasets(keys: Iterable[str], root: str, download: bool = True) -> None:
    """Every dataset config name in ``keys`` is ready under ``root`` when this returns."""
    from ..catalog import can_auto_download, lookup

    for key in dict.fromkeys(keys):
        info = lookup(key)
        if info is None:
            continue
        problem = _check(info, root)
        if problem is None:
            continue
        if not can_auto_download(info.key):
            print(f"{key} is missing under {root} and needs steps by hand:\n{_manual_steps(info, root)}", flush=True)
            raise DatasetNotReady(f"{problem.rstrip('.')}; it needs the manual steps printed above.")
        if not download:
            raise DatasetNotReady(f"{problem.rstrip('.')} (downloads are off: --no-download or {NO_DOWNLOAD_ENV}=1).")
        print(f"{key} is missing under {root}: preparing it now ({info.title}, about {info.download_size}; "
              f"--no-download or {NO_DOWNLOAD_ENV}=1 to refuse)", flush=True)
        if _prepare(info.key, root) != 0 or _check(info, root) is not None:
            raise DatasetNotReady(f"{key} could not be prepared under {root} (see above); rerun "
                                  f"{prepare_command(info.key, root)} to resume it.")

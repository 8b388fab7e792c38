"""Before a run trains: each dataset it needs is there, or prepared now, or one clear error.

The scripts and ``tools.sweep`` call ``ensure_datasets`` before they start anything. A dataset
that ``datasets.prepare`` can fetch by itself is prepared in place (the prepare command's own
output: what is fetched and how large, a progress bar, resumed downloads); ``--no-download`` or
``LAMM_NO_DOWNLOAD=1`` turns that into an error naming the prepare command. A dataset with manual
steps (ImageNet's login, Stanford Cars' dead links) prints those steps and stops. In every failing
case nothing has been started and no run folder exists.
"""
import os
from typing import Iterable

from lamm.errors import LammError

NO_DOWNLOAD_ENV = "LAMM_NO_DOWNLOAD"


class DatasetNotReady(LammError):
    """A dataset a run needs is missing and is not (or cannot be) prepared automatically."""


def no_download_from_env() -> bool:
    return os.environ.get(NO_DOWNLOAD_ENV, "") not in ("", "0")


def prepare_command(key: str, root: str) -> str:
    return f"python -m datasets.prepare {key} --root {root}"


def _check(info, root):
    from datasets.check import check_dataset

    return check_dataset(info, root)


def _prepare(key: str, root: str) -> int:
    """``python -m datasets.prepare KEY --root ROOT`` in this process: 0 when the dataset is ready."""
    from datasets import prepare

    return prepare.main([key, "--root", root])


def _manual_steps(info, root: str) -> str:
    from datasets.prepare import _manual_text

    return _manual_text(info, root, [])


def ensure_datasets(keys: Iterable[str], root: str, download: bool = True) -> None:
    """Every dataset config name in ``keys`` is ready under ``root`` when this returns.

    Names without a catalog entry (a user's own dataset config) are left to train.py's checks.
    """
    from datasets.catalog import lookup

    for key in dict.fromkeys(keys):
        info = lookup(key)
        if info is None:
            continue
        report = _check(info, root)
        if report.ready:
            continue
        problem = next((m.split("\n")[0] for level, m in report.findings if level in ("missing", "wrong")), "")
        if report.status == "wrong":  # present but unusable: fetching again would not fix it
            raise DatasetNotReady(f"{key} under {root} is not usable: {problem} (details: python -m datasets.prepare "
                                  f"check {key} --root {root})")
        if info.manual:
            print(f"{key} is missing under {root} and needs steps by hand:\n{_manual_steps(info, root)}", flush=True)
            raise DatasetNotReady(f"{key} is missing under {root} ({problem}); do the steps above, then run "
                                  f"{prepare_command(key, root)} and this command again.")
        if not download:
            raise DatasetNotReady(f"{key} is missing under {root} and downloads are off (--no-download or "
                                  f"{NO_DOWNLOAD_ENV}=1); get it with: {prepare_command(key, root)}")
        print(f"{key} is missing under {root}: preparing it now ({info.title}, about {info.download_size}; "
              f"--no-download or {NO_DOWNLOAD_ENV}=1 to refuse)", flush=True)
        if _prepare(key, root) != 0 or not _check(info, root).ready:
            raise DatasetNotReady(f"{key} could not be prepared under {root} (see above); rerun "
                                  f"{prepare_command(key, root)} to resume it.")

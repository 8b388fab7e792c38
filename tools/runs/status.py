"""The status of a run, read from its folder (the grid itself is built by tools/runs/grid.py).

A record that ``read_record`` accepts means finished (a corrupt ``results.json`` does not: the run
is rerun and resumes); a held ``.lock`` (train.py's ``RunLock``) means another process is running
it; any other folder is an unfinished run that Dassl resumes from its last checkpoint.
"""
import glob
import os
import re
from typing import Optional, Tuple

from lamm.files import RunLock
from lamm.run_record import RECORD_FILE, read_record

# Status of a run, read from its folder.
FINISHED = "finished"
UNFINISHED = "unfinished"
RUNNING = "running elsewhere"
NOT_STARTED = "not started"
STATUSES = (FINISHED, UNFINISHED, RUNNING, NOT_STARTED)


# --------------------------------------------------------------------------- status of a run
def lock_holder(run_dir: str) -> Optional[str]:
    """Who holds the run's ``.lock`` ("pid N on host"), or None when nobody does.

    The probe takes a shared lock for an instant, so it never waits and never keeps a run from
    starting for longer than that instant.
    """
    import fcntl

    path = RunLock(run_dir).path
    try:
        handle = open(path, "r")
    except FileNotFoundError:
        return None
    with handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return handle.read().strip() or "unknown process"
        fcntl.flock(handle, fcntl.LOCK_UN)
    return None


def last_checkpoint_epoch(run_dir: str) -> Optional[int]:
    """The epoch a rerun resumes from: the newest ``model.pth.tar-<epoch>`` named by a
    ``<run>/<model>/checkpoint`` note (Dassl resumes from the note, not from the files)."""
    epochs = []
    for note in glob.glob(os.path.join(glob.escape(run_dir), "*", "checkpoint")):
        try:
            with open(note) as f:
                name = f.read().strip()
        except OSError:
            continue
        match = re.fullmatch(r"model\.pth\.tar-(\d+)", name)
        if match and os.path.isfile(os.path.join(os.path.dirname(note), name)):
            epochs.append(int(match.group(1)))
    return max(epochs) if epochs else None


def run_status(run_dir: str) -> Tuple[str, str]:
    """(status, detail) of a run folder; status is one of STATUSES."""
    if read_record(run_dir) is not None:
        return FINISHED, ""
    if not os.path.isdir(run_dir):
        return NOT_STARTED, ""
    holder = lock_holder(run_dir)
    if holder is not None:
        return RUNNING, holder
    epoch = last_checkpoint_epoch(run_dir)
    detail = "no checkpoint" if epoch is None else f"checkpoint at epoch {epoch}"
    if os.path.isfile(os.path.join(run_dir, RECORD_FILE)):
        detail += f"; its {RECORD_FILE} is unreadable, so it runs again"
    return UNFINISHED, detail

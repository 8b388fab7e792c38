"""A run folder's own facts, without torch: its files, kind, lock, checkpoints and status."""
import glob
import os
import os.path as osp
import re
import shutil
import tempfile
from typing import Optional, Tuple

import yaml

from lamm.errors import CheckpointNotFoundError, ConfigError, LammError
from lamm.files import atomic_write_text
from trainers.record import NOT_IN_FINGERPRINT, RECORD_FILE, config_differences, describe_differences, read_record

CONFIG_FILE = "config.yaml"
ENV_FILE = "env.txt"
LOG_FILE = "log.txt"
LOCK_FILE = ".lock"
TENSORBOARD_FOLDER = "tensorboard"
# The first line of config.yaml says which kind of run wrote the folder.
RUN_KINDS = {"training": "# train.py run: training\n", "eval-only": "# train.py run: eval-only\n"}
# A rerun of a folder may change where files are and how fast they are read, not what is computed.
RERUN_MAY_CHANGE = tuple(key for key in NOT_IN_FINGERPRINT if key != "SEED")

EPOCH_FILE = re.compile(r"^model\.pth\.tar-(\d+)$")
BEST_FILE = "model-best.pth.tar"
NOTE_FILE = "checkpoint"


def checkpoint_file(folder: str, epoch=None) -> str:
    """``model.pth.tar-<epoch>``, else ``model-best.pth.tar``, else the latest one saved."""
    if epoch is not None:
        return osp.join(folder, f"model.pth.tar-{epoch}")
    best = osp.join(folder, BEST_FILE)
    latest_note = osp.join(folder, NOTE_FILE)
    if not osp.exists(best) and osp.exists(latest_note):
        with open(latest_note) as note:
            return osp.join(folder, note.read().strip())
    return best


def epochs_present(folder: str):
    """The epochs of the ``model.pth.tar-<epoch>`` files in ``folder``, sorted."""
    if not osp.isdir(folder):
        return []
    return sorted(int(m.group(1)) for m in map(EPOCH_FILE.match, os.listdir(folder)) if m)


def is_checkpoint_folder(folder: str) -> bool:
    """A model folder (``<run>/prompt_learner``), not a run folder."""
    return osp.isdir(folder) and (osp.isfile(osp.join(folder, NOTE_FILE)) or osp.isfile(osp.join(folder, BEST_FILE))
                                  or bool(epochs_present(folder)))


def model_folders_in(run: str):
    """The model folders a run folder holds (``prompt_learner``, ``MultiModalPromptLearner``)."""
    if not osp.isdir(run):
        return []
    return sorted(name for name in os.listdir(run) if is_checkpoint_folder(osp.join(run, name)))


def latest_checkpoint(folder: str):
    """The file the ``checkpoint`` note names; None when there is no note."""
    note = osp.join(folder, NOTE_FILE)
    if not osp.isfile(note):
        return None
    with open(note) as handle:
        name = handle.read().strip()
    path = osp.join(folder, name)
    if not osp.isfile(path):
        present = ", ".join(map(str, epochs_present(folder))) or "none"
        raise CheckpointNotFoundError(
            f"{note} names {name}, which is missing (epochs present: {present}). Restore the file, "
            "or start the run afresh with --restart.")
    return path


def last_checkpoint_epoch(run_dir: str) -> Optional[int]:
    """The epoch a rerun resumes from."""
    epochs = []
    for note in glob.glob(osp.join(glob.escape(run_dir), "*", NOTE_FILE)):
        try:
            with open(note) as f:
                name = f.read().strip()
        except OSError:
            continue
        match = EPOCH_FILE.fullmatch(name)
        if match and osp.isfile(osp.join(osp.dirname(note), name)):
            epochs.append(int(match.group(1)))
    return max(epochs) if epochs else None


class RunLockedError(LammError):
    """Another process holds the lock of this run folder."""


class RunLock:
    """An exclusive, non-blocking lock on a run folder (``<folder>/.lock``), held while a run works."""

    def __init__(self, folder: str):
        self.path = osp.join(folder, LOCK_FILE)
        self._handle = None

    def __enter__(self):
        import fcntl

        os.makedirs(osp.dirname(self.path), exist_ok=True)
        self._handle = open(self.path, "a+")
        try:
            fcntl.flock(self._handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self._handle.seek(0)
            holder = self._handle.read().strip() or "unknown"
            self._handle.close()
            raise RunLockedError(f"{osp.dirname(self.path)} is being run by another process ({holder}).") from None
        self._handle.seek(0)
        self._handle.truncate()
        self._handle.write(f"pid {os.getpid()} on {os.uname().nodename}\n")
        self._handle.flush()
        return self

    def __exit__(self, *exc):
        self._handle.close()  # closing releases the flock
        return False


def lock_holder(run_dir: str) -> Optional[str]:
    """Who holds the run's ``.lock`` ("pid N on host"), or None when nobody does."""
    import fcntl

    try:
        handle = open(osp.join(run_dir, LOCK_FILE), "r")
    except FileNotFoundError:
        return None
    with handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return handle.read().strip() or "unknown process"
        fcntl.flock(handle, fcntl.LOCK_UN)
    return None


FINISHED = "finished"
UNFINISHED = "unfinished"
RUNNING = "running elsewhere"
NOT_STARTED = "not started"
STATUSES = (FINISHED, UNFINISHED, RUNNING, NOT_STARTED)


def run_status(run_dir: str) -> Tuple[str, str]:
    """(status, detail) of a run folder; status is one of STATUSES."""
    if read_record(run_dir) is not None:
        return FINISHED, ""
    if not osp.isdir(run_dir):
        return NOT_STARTED, ""
    holder = lock_holder(run_dir)
    if holder is not None:
        return RUNNING, holder
    epoch = last_checkpoint_epoch(run_dir)
    detail = "no checkpoint" if epoch is None else f"checkpoint at epoch {epoch}"
    if osp.isfile(osp.join(run_dir, RECORD_FILE)):
        detail += f"; its {RECORD_FILE} is unreadable, so it runs again"
    return UNFINISHED, detail


def existing_run_kind(folder: str):
    """"training", "eval-only" or None (no run of this project there yet)."""
    try:
        with open(osp.join(folder, CONFIG_FILE)) as handle:
            first = handle.readline()
    except OSError:
        first = ""
    for kind, header in RUN_KINDS.items():
        if first == header:
            return kind
    record = read_record(folder)
    if record is not None and "eval_only" in record:
        return "eval-only" if record["eval_only"] else "training"
    return "training" if model_folders_in(folder) else None


def check_output_dir(path: str) -> None:
    """An output folder the file system can create: not a file, no name longer than it allows (Errno 36)."""
    full = osp.abspath(path)
    if osp.exists(full) and not osp.isdir(full):
        raise ConfigError(f"--output-dir {path} is a file, not a folder.")
    existing = full
    while not osp.isdir(existing):
        existing = osp.dirname(existing)
    try:
        name_max, path_max = os.pathconf(existing, "PC_NAME_MAX"), os.pathconf(existing, "PC_PATH_MAX")
    except (OSError, ValueError):
        name_max, path_max = 255, 4096
    hint = ("Use a shorter --output-dir; the scripts name a run folder after its KEY VALUE overrides "
            "unless TAG is set (TAG=<short name>).")
    for part in full.split(os.sep):
        if len(part.encode()) > name_max:
            raise ConfigError(f"--output-dir: the folder name {part[:48]}... is {len(part.encode())} bytes, "
                              f"more than the file system allows ({name_max}). {hint}")
    if len(full.encode()) >= path_max:
        raise ConfigError(f"--output-dir is {len(full.encode())} bytes long, more than the file system allows "
                          f"({path_max}). {hint}")
    try:  # a real write: os.access says yes where mkdir then fails (root, or /sys)
        os.rmdir(tempfile.mkdtemp(dir=existing, prefix=".lamm-write-check-"))
    except OSError as error:
        raise ConfigError(f"--output-dir {path}: cannot write in {existing} ({error.strerror}). Give a folder you can "
                          "write to (the scripts: OUTPUT=<folder>).") from None


def check_rerun(folder: str, config: dict, eval_only=False, restart=False) -> None:
    """A rerun continues the same experiment, or says what differs and how to keep both."""
    if not osp.isdir(folder):
        return
    kind = existing_run_kind(folder)
    if eval_only and kind == "training":
        suggestion = osp.join(osp.dirname(osp.normpath(folder)), "eval", osp.basename(osp.normpath(folder)))
        raise ConfigError(
            f"{folder} holds a training run; an eval-only run never writes into one (it would replace its "
            f"config.yaml and results.json). Give the evaluation its own folder, e.g. --output-dir {suggestion}")
    ways_out = ("To keep both, use another --output-dir (the scripts: TAG=<name>); to replace it, add --restart "
                "(deletes its checkpoints, results and logs).")
    if not eval_only and kind == "eval-only" and not restart:
        raise ConfigError(f"{folder} holds an eval-only run, not a training run. {ways_out}")
    config_path = osp.join(folder, CONFIG_FILE)
    if not osp.isfile(config_path) or restart:
        return
    try:
        with open(config_path) as handle:
            old = yaml.safe_load(handle)
    except (OSError, yaml.YAMLError) as error:
        raise ConfigError(f"{config_path} cannot be read ({error}); cannot tell which run this is. {ways_out}") from None
    differences = config_differences(old if isinstance(old, dict) else {}, config, ignore=RERUN_MAY_CHANGE)
    if differences:
        raise ConfigError(f"{folder} holds a run of another config ({describe_differences(differences)}). {ways_out}")


def clear_run_folder(folder: str) -> list:
    """--restart: delete what an earlier run left in ``folder`` (files this project writes only)."""
    removed = []
    for name in sorted(os.listdir(folder)) if osp.isdir(folder) else []:
        path = osp.join(folder, name)
        if name in (CONFIG_FILE, ENV_FILE, RECORD_FILE) or name.startswith(LOG_FILE):
            os.remove(path)
        elif name == TENSORBOARD_FOLDER or name in model_folders_in(folder):
            shutil.rmtree(path)
        else:
            continue
        removed.append(name)
    return removed


def write_run_files(folder: str, config_text: str, env_info: str, eval_only=False) -> None:
    """The merged config and the environment, next to log.txt, so every run leaves a trail."""
    header = RUN_KINDS["eval-only" if eval_only else "training"]
    atomic_write_text(osp.join(folder, CONFIG_FILE), header + config_text)
    atomic_write_text(osp.join(folder, ENV_FILE), env_info + "\n")

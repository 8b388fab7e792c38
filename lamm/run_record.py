"""The run record, ``<run>/results.json``: what a run is and what it scored, in one JSON file.

The trainers write it (``trainers/clip_trainer.py``, atomically, after the test); every reader
(``parse_test_res.py``, the sweep, the tables) goes through ``read_record``. A file that does not
parse, or has no ``accuracy``, means the run is not finished. The schema is in
``docs/EXPERIMENTS.md``; ``RECORD_VERSION`` counts its changes.

This module imports neither torch nor Dassl, so that tools that only read records start fast.
"""
import hashlib
import json
import os
import subprocess
from typing import Any, Dict, List, Optional, Tuple

RECORD_FILE = "results.json"
RECORD_VERSION = 2

PROTOCOLS = ("fewshot", "base2new", "cross_dataset", "dg", "incremental")

# Config keys that cannot change a result: where files are, how fast they are read, what the run
# is called. They are left out of the fingerprint (a node name drops the whole node). SEED is
# left out too, so that the seeds of one experiment share a fingerprint; a rerun of a folder
# compares it separately (see ``config_differences``).
NOT_IN_FINGERPRINT = (
    "SEED",
    "OUTPUT_DIR",
    "RESUME",
    "USE_CUDA",
    "VERBOSE",
    "RUN",  # labels only (protocol, variant, stage, evaluated set, source dataset)
    "DATASET.ROOT",
    "DATALOADER.NUM_WORKERS",
    "TRAIN.PRINT_FREQ",
    "TRAIN.CHECKPOINT_FREQ",  # how often to save: a resumed run ends where an uninterrupted one does
    "TRAINER.MEMORY",  # activation checkpointing recomputes the same numbers (tests/lamm/test_text_encoder.py)
)

_ABSENT = "<absent>"


def read_record(run_dir: str) -> Optional[Dict[str, Any]]:
    """The record of a finished run, or None when it is absent, does not parse or lacks accuracy."""
    try:
        with open(os.path.join(run_dir, RECORD_FILE)) as handle:
            record = json.load(handle)
    except (OSError, ValueError):
        return None
    if not isinstance(record, dict) or not isinstance(record.get("accuracy"), (int, float)):
        return None
    return record


def flatten(config: Dict[str, Any], prefix: str = "") -> Dict[str, Any]:
    """A nested config (a yacs CfgNode or the dict of its YAML dump) as ``{"A.B.C": value}``."""
    flat = {}
    for key, value in config.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(flatten(value, name + "."))
        else:
            flat[name] = list(value) if isinstance(value, tuple) else value
    return flat


def lambda_wc_in_force(value: float, shots: int) -> float:
    """λ1 as the run uses it: a negative TRAINER.LAMM.LAMBDA_WC means 1 / DATASET.NUM_SHOTS."""
    return float(value) if value >= 0 or shots < 1 else 1.0 / shots


def _comparable(config) -> Dict[str, Any]:
    """The flat config with values in force: λ1 = 1/4 set by rule or by hand is one computation."""
    flat = flatten(config)
    value, shots = flat.get("TRAINER.LAMM.LAMBDA_WC"), flat.get("DATASET.NUM_SHOTS")
    if isinstance(value, (int, float)) and isinstance(shots, int):
        flat["TRAINER.LAMM.LAMBDA_WC"] = lambda_wc_in_force(value, shots)
    return flat


def _left_out(key: str, excluded) -> bool:
    return any(key == name or key.startswith(name + ".") for name in excluded)


def config_fingerprint(config: Dict[str, Any]) -> str:
    """16 hex characters that change when any key that can change a result changes."""
    flat = {key: value for key, value in _comparable(config).items() if not _left_out(key, NOT_IN_FINGERPRINT)}
    text = json.dumps(flat, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def config_differences(old: Dict[str, Any], new: Dict[str, Any],
                       ignore=NOT_IN_FINGERPRINT) -> List[Tuple[str, Any, Any]]:
    """``(key, old value, new value)`` for every key that differs, outside ``ignore``."""
    old_flat, new_flat = _comparable(old), _comparable(new)
    differences = []
    for key in sorted(set(old_flat) | set(new_flat)):
        if _left_out(key, ignore):
            continue
        before, after = old_flat.get(key, _ABSENT), new_flat.get(key, _ABSENT)
        if before != after:
            differences.append((key, before, after))
    return differences


def describe_differences(differences, limit: int = 6) -> str:
    """``A.B: 1 -> 2, C: x -> y`` (and how many more), for one-line messages."""
    shown = ", ".join(f"{key}: {before!r} -> {after!r}" for key, before, after in differences[:limit])
    more = len(differences) - limit
    return shown + (f" and {more} more" if more > 0 else "")


def resolve_protocol(config) -> str:
    """RUN.PROTOCOL, or the protocol the dataset keys imply when it is empty."""
    explicit = config["RUN"]["PROTOCOL"] if "RUN" in config else ""
    if explicit:
        return explicit
    dataset = config["DATASET"]
    if dataset.get("SUBSAMPLE_CLASSES", "all") in ("base", "new"):
        return "base2new"
    if dataset.get("TRAIN_CLASSES", "all") != "all":
        return "incremental"
    return "fewshot"


def code_version(folder: Optional[str] = None) -> Optional[Dict[str, Any]]:
    """``{"commit": sha, "dirty": bool}`` of the git checkout holding ``folder``, else None."""
    folder = folder or os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

    def git(*args):
        return subprocess.run(["git", "-C", folder, *args], capture_output=True, text=True, timeout=20, check=True)

    try:
        commit = git("rev-parse", "HEAD").stdout.strip()
        # Untracked files (run outputs, data) do not make the code differ.
        dirty = bool(git("status", "--porcelain", "--untracked-files=no").stdout.strip())
    except (OSError, subprocess.SubprocessError):
        return None
    return {"commit": commit, "dirty": dirty} if commit else None

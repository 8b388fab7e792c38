"""The run record, ``<run>/results.json``: what a run is, what it scored and what it cost."""
import dataclasses
import hashlib
import json
import os
import subprocess
from typing import Any, Dict, List, Optional, Tuple

from lamm.files import atomic_write_json

RECORD_FILE = "results.json"
RECORD_VERSION = 3  # 3: + cost

# The evaluation protocols, each with its scripts (tools/runs) and its table (tools/results).
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
_IDENTITY = {"identity": True}


def _identity(default=None, factory=None):
    if factory is not None:
        return dataclasses.field(default_factory=factory, metadata=_IDENTITY)
    return dataclasses.field(default=default, metadata=_IDENTITY)


# The run's cost (RECORD_VERSION 3), which ``parse_test_res.py --cost`` shows beside the accuracy:
# this process's wall time from building the trainer to the record, the peak host memory (resident
# set) and GPU memory (allocated; None on the CPU), the parameters the optimiser updates, and the
# training images per second of this process's training (None when it did not train).
COST_FIELDS = ("wall_s", "host_peak_gb", "gpu_peak_gb", "trainable_params", "train_images_per_s")
NO_COST = {name: None for name in COST_FIELDS}


@dataclasses.dataclass(frozen=True, kw_only=True)
class Record:
    """One run's ``results.json``. Identity fields come first, in the order runs are told apart."""

    # what the run is (identity, in the order a foreign run is named by)
    method: str = dataclasses.field(metadata=_IDENTITY)  # the trainer's name: LAMM, CoOpLAMM, ZeroshotCLIP, ...
    dataset: str = dataclasses.field(metadata=_IDENTITY)  # Dassl's dataset NAME
    protocol: str = _identity("fewshot")  # one of PROTOCOLS
    variant: str = _identity("")  # RUN.VARIANT: "" = the shipped config
    preset: str = _identity("default")  # TRAINER.LAMM.PRESET
    num_shots: int = _identity(-1)  # -1: all data / zero-shot
    backbone: str = _identity("ViT-B/16")  # or the weights file's name; open_clip:<arch>
    backbone_weights: Optional[str] = _identity(None)  # open_clip: MODEL.BACKBONE.WEIGHTS (tag, hub id, file name)
    subsample_classes: str = _identity("all")  # the classes the run was tested on
    eval_set: Optional[str] = _identity(None)  # RUN.EVAL_SET; None = the run's own test
    stage: Optional[int] = _identity(None)  # class-incremental stage
    source_dataset: Optional[str] = _identity(None)  # cross-dataset / DG: trained on
    train_classes: str = _identity("all")  # DATASET.TRAIN_CLASSES
    loss: Dict[str, float] = _identity(factory=lambda: {"ce": 1.0})  # loss terms in force and weights
    labels: Optional[Dict[str, Any]] = _identity(None)  # LAMM trainers: {"tokens", "init"}
    config_fingerprint: str = _identity("")  # see config_fingerprint
    untrained: bool = _identity(False)  # --eval-only without --model-dir
    eval_only: bool = _identity(False)
    # what it scored
    accuracy: float
    split: str = "test"
    seed: int = 1
    epoch: int = 0
    num_classes: int = 0
    num_test: int = 0
    classnames: List[str] = dataclasses.field(default_factory=list)
    # how it ran
    trainer: str = ""  # = method, kept for readers of CoOp-era records
    record_version: int = RECORD_VERSION
    checkpoint: Optional[Dict[str, Any]] = None  # eval-only: {"run_dir", "epoch", "file"}
    overrides: List[str] = dataclasses.field(default_factory=list)
    code_version: Optional[Dict[str, Any]] = None
    time_s: Dict[str, Optional[float]] = dataclasses.field(default_factory=lambda: {"train": None, "test": None})
    peak_memory_gb: Dict[str, Any] = dataclasses.field(
        default_factory=lambda: {"train": None, "test": None, "device": "cpu"})
    cost: Dict[str, Any] = dataclasses.field(default_factory=lambda: dict(NO_COST))
    shortcuts_off: List[str] = dataclasses.field(default_factory=list)  # shortcuts not exact on this backbone

    def __post_init__(self):
        if not self.trainer:
            object.__setattr__(self, "trainer", self.method)

    def to_dict(self) -> Dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, content: Dict[str, Any]) -> "Record":
        """A record from a parsed ``results.json``; keys the schema does not know are dropped."""
        missing = [name for name in REQUIRED_FIELDS if name not in content]
        if missing:
            raise ValueError(f"not a run record of this project: no {', '.join(missing)}")
        return cls(**{k: v for k, v in content.items() if k in FIELD_NAMES})

    def write(self, run_dir: str) -> str:
        """``<run_dir>/results.json``, atomically: the file is whole or absent."""
        path = os.path.join(run_dir, RECORD_FILE)
        atomic_write_json(path, self.to_dict())
        return path

    @classmethod
    def read(cls, run_dir: str) -> Optional["Record"]:
        """The record of a finished run (see ``read_record``), or None; ValueError as ``from_dict``."""
        content = read_record(run_dir)
        return None if content is None else cls.from_dict(content)

    def identity(self) -> Dict[str, Any]:
        return record_identity(self.to_dict())


FIELD_NAMES = tuple(f.name for f in dataclasses.fields(Record))
REQUIRED_FIELDS = tuple(f.name for f in dataclasses.fields(Record)
                        if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING)
# What a record says a run is; two runs are averaged together only when all of these agree.
IDENTITY_FIELDS = tuple(f.name for f in dataclasses.fields(Record) if f.metadata.get("identity"))


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


def record_identity(record: Dict[str, Any]) -> Dict[str, Any]:
    """The ``IDENTITY_FIELDS`` a record states ({} for a dict that is no record)."""
    return {key: record[key] for key in IDENTITY_FIELDS if key in record}


def identity_differences(a: Dict[str, Any], b: Dict[str, Any]) -> List[str]:
    """Fields both identities state with different values (a field one lacks never differs)."""
    return [k for k in IDENTITY_FIELDS if k in a and k in b and _canon(a[k]) != _canon(b[k])]


def _canon(value) -> str:
    return json.dumps(value, sort_keys=True, default=str)


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

"""The grid of a sweep: methods x datasets x shots x seeds, expanded into the runs the scripts make.

A run is one call of a method's script for one seed (``SEEDS=<seed> bash scripts/<method>/main.sh
DATASET SHOTS [KEY VALUE ...]``), so a sweep trains exactly what the per-method scripts train, in
the folder they write: ``OUTPUT/<dataset>/<trainer>/<config>_<K>shots[_<TAG>]/seed<S>``.
``Run.run_dir`` is the one place that name is computed here; the tests check it against the
folder that ``scripts/run_seeds.sh`` passes to train.py.

The status of a run is read from its folder: ``results.json`` means finished, a held
``.lock`` (train.py's ``RunLock``) means another process is running it, any other folder is an
unfinished run that Dassl resumes from its last checkpoint.
"""
import glob
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

from lamm.errors import LammError
from lamm.files import RunLock
from tools.run_results import RESULTS_NAME, SEED_PREFIX, natural_key

REPO_ROOT = Path(__file__).resolve().parent.parent
DATASET_CONFIG_DIR = REPO_ROOT / "configs" / "datasets"
TRAINER_CONFIG_DIR = REPO_ROOT / "configs" / "trainers"

# The 11 few-shot classification benchmarks of CoOp, LAMM's Table 1 and Figure 3 (CoOp's names).
BENCHMARK_DATASETS = (
    "imagenet", "caltech101", "oxford_pets", "stanford_cars", "oxford_flowers", "food101",
    "fgvc_aircraft", "sun397", "dtd", "eurosat", "ucf101",
)
PAPER_SHOTS = (1, 2, 4, 8, 16)
PAPER_SEEDS = (1, 2, 3)

# Status of a run, read from its folder.
FINISHED = "finished"
UNFINISHED = "unfinished"
RUNNING = "running elsewhere"
NOT_STARTED = "not started"
STATUSES = (FINISHED, UNFINISHED, RUNNING, NOT_STARTED)


class SweepError(LammError):
    """The grid asks for something that cannot run (unknown method, missing config, ...)."""


@dataclass(frozen=True)
class Method:
    """A trainer and the script that runs it, as listed in the README's trainer table."""

    trainer: str
    script: str  # relative to the repository root
    config_prefix: str  # configs/trainers/<trainer>/<config_prefix>_<K>shots.yaml
    few_shot: bool = True  # False: evaluation only, one run per dataset (no shots, no seeds)

    def config_name(self, shots: Optional[int]) -> str:
        return f"{self.config_prefix}_{shots}shots" if self.few_shot else self.config_prefix

    def config_file(self, shots: Optional[int]) -> Path:
        return TRAINER_CONFIG_DIR / self.trainer / f"{self.config_name(shots)}.yaml"


METHODS: Dict[str, Method] = {m.trainer: m for m in (
    Method("ZeroshotCLIP", "scripts/zsclip/zeroshot.sh", "vit_b16", few_shot=False),
    Method("CoOp", "scripts/coop/main.sh", "vit_b16_ep50_ctxv1"),
    Method("LAMM", "scripts/lamm/main.sh", "vit_b16_ep50_ctxv1"),
    Method("CoOpLAMM", "scripts/coop_lamm/main.sh", "vit_b16_ep50_ctxv1"),
    Method("MaPLe", "scripts/maple/main.sh", "vit_b16_c2_ep5_batch4_2ctx"),
    Method("MaPLeLAMM", "scripts/maple_lamm/main.sh", "vit_b16_c2_ep5_batch4_2ctx"),
)}
# Zero-shot CLIP has no randomness; zeroshot.sh always writes seed1.
ZERO_SHOT_SEED = 1


def tag_suffix(opts: Sequence[str], tag: str = "") -> str:
    """The folder suffix of runs with overrides, as run_seeds.sh computes it.

    ``${TAG:-$(echo "$*" | tr -c 'A-Za-z0-9._=\\n-' '-' | tr -s '-')}``: the tag when it is not
    empty, else the overrides joined by spaces with every other byte turned into '-', runs of
    '-' squeezed to one, and trailing newlines dropped (command substitution). ``tr`` works on
    bytes; squeezing makes a multi-byte character one '-' either way.
    """
    if tag:
        return tag
    text = (" ".join(opts) + "\n").encode("utf-8", "surrogateescape")
    text = re.sub(rb"[^A-Za-z0-9._=\n-]", b"-", text)
    text = re.sub(rb"-+", b"-", text)
    return text.decode("utf-8", "surrogateescape").rstrip("\n")


@dataclass(frozen=True)
class Run:
    """One seed of one method on one dataset and shot count, and how to launch it."""

    trainer: str
    dataset: str
    shots: Optional[int]  # None for evaluation-only methods
    seed: int
    output: str  # absolute output root ($OUTPUT)
    data: str  # absolute dataset root ($DATA)
    opts: Tuple[str, ...] = ()  # KEY VALUE overrides, passed to the script after DATASET SHOTS
    tag: str = ""  # $TAG; names the folder of runs with overrides
    python: str = "python"  # $PYTHON, the interpreter the script runs train.py with

    @property
    def method(self) -> Method:
        return METHODS[self.trainer]

    @property
    def experiment(self) -> str:
        """``<config>_<K>shots[_<suffix>]``: the experiment folder name, as run_seeds.sh makes it."""
        name = self.method.config_name(self.shots)
        return f"{name}_{tag_suffix(self.opts, self.tag)}" if self.opts else name

    @property
    def name(self) -> str:
        """``<dataset>/<trainer>/<experiment>/seed<S>``, the run folder relative to the output root."""
        return f"{self.dataset}/{self.trainer}/{self.experiment}/{SEED_PREFIX}{self.seed}"

    @property
    def run_dir(self) -> str:
        # String concatenation, as the scripts do, so both sides name the same path.
        return f"{self.output}/{self.name}"

    def command(self) -> List[str]:
        """The script call, run from the repository root with ``env()``."""
        shots = [str(self.shots)] if self.method.few_shot else []
        return ["bash", self.method.script, self.dataset, *shots, *self.opts]

    def env(self, base: Optional[Dict[str, str]] = None) -> Dict[str, str]:
        """``base`` (default os.environ) with the variables the scripts read set for this run."""
        env = dict(os.environ if base is None else base)
        env.update(DATA=self.data, OUTPUT=self.output, SEEDS=str(self.seed), PYTHON=self.python)
        if self.tag:
            env["TAG"] = self.tag
        else:
            env.pop("TAG", None)  # an inherited TAG would rename the folder behind our back
        env.pop("DIR", None)  # zeroshot.sh writes to $DIR when it is set
        return env

    def shell_line(self) -> str:
        """The command as one copyable shell line (for --dry-run --verbose and the logs)."""
        import shlex

        tag = f"TAG={shlex.quote(self.tag)} " if self.tag else ""
        return f"SEEDS={self.seed} {tag}" + " ".join(shlex.quote(a) for a in self.command())


@dataclass(frozen=True)
class Grid:
    """What to sweep; ``expand`` turns it into runs."""

    methods: Tuple[str, ...]
    datasets: Tuple[str, ...]  # names, or "all"
    shots: Tuple[int, ...] = PAPER_SHOTS
    seeds: Tuple[int, ...] = PAPER_SEEDS
    opts: Tuple[str, ...] = ()
    tag: str = ""


def resolve_methods(names: Sequence[str]) -> List[str]:
    """Trainer names (case-insensitive) or "all", in the order given, without repeats."""
    by_lower = {name.lower(): name for name in METHODS}
    out: List[str] = []
    for name in names:
        if name.lower() == "all":
            chosen = list(METHODS)
        elif name.lower() in by_lower:
            chosen = [by_lower[name.lower()]]
        else:
            raise SweepError(f"unknown method {name!r}; known: {', '.join(METHODS)} (or all).")
        out += [m for m in chosen if m not in out]
    if not out:
        raise SweepError("no method given (--methods LAMM CoOpLAMM ..., or all).")
    return out


def available_dataset_configs() -> List[str]:
    return sorted(p.stem for p in DATASET_CONFIG_DIR.glob("*.yaml"))


def resolve_datasets(names: Sequence[str], notes: Optional[List[str]] = None) -> List[str]:
    """Dataset config names; "all" is every benchmark dataset that has a config, read now.

    A dataset named explicitly must have ``configs/datasets/<name>.yaml``. ``notes`` receives a
    line naming the benchmark datasets that "all" left out for lack of a config.
    """
    have = available_dataset_configs()
    out: List[str] = []
    for name in names:
        if name.lower() == "all":
            chosen = [d for d in BENCHMARK_DATASETS if d in have]
            missing = [d for d in BENCHMARK_DATASETS if d not in have]
            if not chosen:
                raise SweepError(f"--datasets all: none of the benchmark datasets has a config in "
                                 f"{DATASET_CONFIG_DIR} (expected {', '.join(BENCHMARK_DATASETS)}).")
            if missing and notes is not None:
                notes.append(f"datasets all = the {len(chosen)} of {len(BENCHMARK_DATASETS)} benchmark datasets "
                             f"with a config; no config yet for: {', '.join(missing)}")
        elif name in have:
            chosen = [name]
        else:
            raise SweepError(f"dataset {name!r} has no config: {DATASET_CONFIG_DIR / (name + '.yaml')} not found "
                             f"(available: {', '.join(have) or 'none'}).")
        out += [d for d in chosen if d not in out]
    if not out:
        raise SweepError("no dataset given (--datasets caltech101 ..., or all).")
    return out


def _positive_ints(values, what: str) -> List[int]:
    out: List[int] = []
    for v in values:
        try:
            number = int(v)
        except (TypeError, ValueError):
            raise SweepError(f"{what} must be whole numbers, got {v!r}.") from None
        if number < 1:
            # train.py ignores --seed 0 (random seed), and 0 shots is no few-shot run.
            raise SweepError(f"{what} must be 1 or more, got {number}.")
        if number not in out:
            out.append(number)
    if not out:
        raise SweepError(f"no {what} given.")
    return out


def expand(grid: Grid, output: str, data: str, python: str = "python", notes: Optional[List[str]] = None) -> List[Run]:
    """Every run of the grid, grouped by method, dataset and shots; checks every config exists.

    ``notes`` receives remarks for the user (benchmark datasets that "all" left out).
    """
    if len(grid.opts) % 2:
        raise SweepError(f"config overrides come in KEY VALUE pairs, got: {' '.join(grid.opts)}")
    methods = resolve_methods(grid.methods)
    datasets = resolve_datasets(grid.datasets, notes)
    shots = _positive_ints(grid.shots, "shots")
    seeds = _positive_ints(grid.seeds, "seeds")
    output, data = os.path.abspath(output), os.path.abspath(data)
    runs: List[Run] = []
    for trainer in methods:
        method = METHODS[trainer]
        points = [(k, s) for k in shots for s in seeds] if method.few_shot else [(None, ZERO_SHOT_SEED)]
        for k, _ in points:
            if not method.config_file(k).is_file():
                have = sorted((p.name for p in method.config_file(k).parent.glob("*.yaml")), key=natural_key)
                raise SweepError(f"{trainer} has no config for {k} shots: {method.config_file(k)} not found "
                                 f"(available: {', '.join(have)}).")
        for dataset in datasets:
            for k, seed in points:
                runs.append(Run(trainer, dataset, k, seed, output, data, tuple(grid.opts), grid.tag, python))
    return runs


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
    if os.path.isfile(os.path.join(run_dir, RESULTS_NAME)):
        return FINISHED, ""
    if not os.path.isdir(run_dir):
        return NOT_STARTED, ""
    holder = lock_holder(run_dir)
    if holder is not None:
        return RUNNING, holder
    epoch = last_checkpoint_epoch(run_dir)
    return UNFINISHED, "no checkpoint" if epoch is None else f"checkpoint at epoch {epoch}"

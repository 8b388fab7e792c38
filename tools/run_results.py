"""Find finished runs under an output folder and aggregate their test accuracy over seeds.

This is the library behind ``parse_test_res.py``. A *run* is a folder named ``seed<S>``
that holds Dassl's ``log.txt`` (its stdout tee) and, for runs of this project, a
``results.json`` written after the final test. An *experiment* is the folder that holds one
or more runs, at any depth, e.g. ``output/caltech101/LAMM/vit_b16_ep50_ctxv1_16shots``.

The value of a run comes from ``results.json`` when it has the key, else from ``log.txt``
read the way CoOp's ``parse_test_res.py`` does: every line is stripped, reading turns on
at a line equal to the end signal, and the last ``* <keyword>: <v>%`` line after it wins.
Only ``log.txt`` is read; the ``log.txt-YYYY-...`` files that Dassl writes when a run is
repeated into the same folder are ignored, as CoOp does.

Everything here is a pure function of the files on disk (no printing), so that the
CLI and later table builders (method x shots averaged over datasets, ...) can group the
records by path parts or by the ``results.json`` metadata.
"""
import json
import math
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, Iterable, Iterator, List, Optional, Sequence, Tuple

import numpy as np

LOG_NAME = "log.txt"
RESULTS_NAME = "results.json"
SEED_PREFIX = "seed"

# Dassl >= 0.6.1 prints "Finish training"; older Dassl printed "Finished training", which
# is what the MaPLe and LAMM parsers wait for. Accepting both reads logs of either era.
TRAIN_END_SIGNALS = ("Finish training", "Finished training")
# Dassl's evaluator opens its block with this line; eval-only logs never say "Finish training".
TEST_END_SIGNAL = "=> result"

# Names a metric may have in results.json besides the log keyword itself
# (Dassl's evaluate() returns "error_rate" where the log says "error").
_JSON_KEY_ALIASES = {"error": ("error", "error_rate")}

_SEED_NUMBER = re.compile(r"^seed[_-]?(-?\d+)$")
_NATURAL_CHUNK = re.compile(r"(\d+)")


# --------------------------------------------------------------------------- records
@dataclass(frozen=True)
class LogParse:
    """What a pass over one log found."""

    value: Optional[float]  # last "* <keyword>: v%" after the end signal; None if none
    saw_end_signal: bool  # a line equal to one of the end signals
    saw_result_block: bool  # a "=> result" line anywhere (tells eval-only logs apart)


@dataclass(frozen=True)
class RunRecord:
    """One seed folder.

    ``value`` is the metric (``keyword``, in percent) or None when the run has no result
    yet; ``note`` then says why. ``metadata`` is the whole ``results.json`` (empty for
    CoOp-style runs that only have a log), so tables can group by trainer, dataset,
    num_shots, backbone, ... without parsing the path.
    """

    experiment: str  # experiment folder relative to the searched root, POSIX style; "." for the root
    parts: Tuple[str, ...]  # experiment.split("/"); () for the root
    seed_dir: str  # folder name, e.g. "seed1"
    seed: Optional[int]  # parsed from seed_dir; None when the name has no number
    path: str  # the seed folder
    keyword: str
    value: Optional[float]
    source: Optional[str]  # file the value came from (results.json or log.txt), None if no value
    note: str = ""  # why there is no value
    metadata: Dict[str, Any] = field(default_factory=dict)

    @property
    def finished(self) -> bool:
        return self.value is not None

    @property
    def seed_label(self) -> str:
        return str(self.seed) if self.seed is not None else self.seed_dir


@dataclass(frozen=True)
class ExperimentResult:
    """The runs of one experiment folder and their mean / spread over finished seeds."""

    experiment: str
    parts: Tuple[str, ...]
    path: str  # the experiment folder
    keyword: str
    runs: Tuple[RunRecord, ...]  # every seed folder, sorted by seed
    missing_seeds: Tuple[int, ...] = ()  # expected seeds with no folder at all

    @property
    def finished(self) -> Tuple[RunRecord, ...]:
        return tuple(r for r in self.runs if r.finished)

    @property
    def unfinished(self) -> Tuple[RunRecord, ...]:
        return tuple(r for r in self.runs if not r.finished)

    @property
    def values(self) -> List[float]:
        return [r.value for r in self.finished]

    @property
    def seeds(self) -> List[str]:
        """Labels of the seeds that have a value."""
        return [r.seed_label for r in self.finished]

    @property
    def n(self) -> int:
        return len(self.finished)

    @property
    def mean(self) -> Optional[float]:
        return mean_std(self.values)[0]

    @property
    def std(self) -> Optional[float]:
        return mean_std(self.values)[1]

    @property
    def ci95(self) -> Optional[float]:
        return mean_std(self.values, ci95=True)[1]

    @property
    def metadata(self) -> Dict[str, Any]:
        """results.json entries shared by every finished run (seed, accuracy, ... drop out)."""
        return common_metadata(r.metadata for r in self.finished)

    @property
    def flags(self) -> List[str]:
        """Human-readable problems: seeds without a result and expected seeds that are absent."""
        out = [f"{r.seed_dir}: {r.note or 'no result'}" for r in self.unfinished]
        out += [f"{SEED_PREFIX}{s}: absent" for s in self.missing_seeds]
        return out


# --------------------------------------------------------------------------- parsing
def keyword_regex(keyword: str) -> "re.Pattern[str]":
    """CoOp's metric pattern, ``\\* <keyword>: <number>%``, with the keyword escaped."""
    return re.compile(r"\* " + re.escape(keyword) + r": ([\.\deE+-]+)%")


def end_signals(test_log: bool = False) -> Tuple[str, ...]:
    return (TEST_END_SIGNAL,) if test_log else TRAIN_END_SIGNALS


def parse_log_lines(
    lines: Iterable[str], keyword: str = "accuracy", signals: Sequence[str] = TRAIN_END_SIGNALS
) -> LogParse:
    """Read a metric from log lines as CoOp does; the last match after the end signal wins."""
    pattern = keyword_regex(keyword)
    signals = set(signals)
    value = None
    on = saw_result = False
    for line in lines:
        line = line.strip()
        if line in signals:
            on = True
        if line == TEST_END_SIGNAL:
            saw_result = True
        if not on:
            continue
        match = pattern.search(line)
        if match:
            try:
                value = float(match.group(1))
            except ValueError:  # e.g. "1.2.3" fits the character class but is no number
                continue
    return LogParse(value=value, saw_end_signal=on, saw_result_block=saw_result)


def parse_log(path, keyword: str = "accuracy", test_log: bool = False) -> LogParse:
    with open(path, "r", encoding="utf-8", errors="replace") as f:
        return parse_log_lines(f, keyword, end_signals(test_log))


def read_results_json(path) -> Tuple[Dict[str, Any], str]:
    """Return (content, problem); problem is "" when the file is a readable JSON object."""
    try:
        with open(path, "r", encoding="utf-8") as f:
            content = json.load(f)
    except (OSError, ValueError) as e:  # a run killed while writing leaves a partial file
        return {}, f"unreadable {RESULTS_NAME} ({type(e).__name__})"
    if not isinstance(content, dict):
        return {}, f"{RESULTS_NAME} is not a JSON object"
    return content, ""


def _json_value(content: Dict[str, Any], keyword: str) -> Optional[float]:
    for key in _JSON_KEY_ALIASES.get(keyword, (keyword,)):
        v = content.get(key)
        if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v):
            return float(v)
    return None


def seed_number(seed_dir: str) -> Optional[int]:
    m = _SEED_NUMBER.match(seed_dir)
    return int(m.group(1)) if m else None


def is_run_dir(path) -> bool:
    """A folder named seed* that holds log.txt or results.json."""
    path = Path(path)
    return (
        path.name.startswith(SEED_PREFIX)
        and path.is_dir()
        and ((path / LOG_NAME).is_file() or (path / RESULTS_NAME).is_file())
    )


def read_run(
    run_dir, root=None, keyword: str = "accuracy", test_log: bool = False
) -> RunRecord:
    """Read one seed folder: results.json if it has ``keyword``, else log.txt."""
    run_dir = Path(run_dir)
    exp_dir = run_dir.parent
    experiment = _relative(exp_dir, root if root is not None else exp_dir)
    common = dict(
        experiment=experiment,
        parts=_parts(experiment),
        seed_dir=run_dir.name,
        seed=seed_number(run_dir.name),
        path=str(run_dir),
        keyword=keyword,
    )

    notes = []
    metadata: Dict[str, Any] = {}
    json_path = run_dir / RESULTS_NAME
    if json_path.is_file():
        metadata, problem = read_results_json(json_path)
        value = _json_value(metadata, keyword)
        if value is not None:
            return RunRecord(value=value, source=str(json_path), metadata=metadata, **common)
        notes.append(problem or f"no numeric {keyword!r} in {RESULTS_NAME}")

    log_path = run_dir / LOG_NAME
    if not log_path.is_file():
        notes.append(f"no {LOG_NAME}")
        return RunRecord(value=None, source=None, note="; ".join(notes), metadata=metadata, **common)

    parsed = parse_log(log_path, keyword, test_log)
    if parsed.value is not None:
        return RunRecord(value=parsed.value, source=str(log_path), metadata=metadata, **common)
    notes.append(_log_problem(parsed, keyword, test_log))
    return RunRecord(value=None, source=None, note="; ".join(notes), metadata=metadata, **common)


def _log_problem(parsed: LogParse, keyword: str, test_log: bool) -> str:
    if test_log:
        if not parsed.saw_end_signal:
            return f"no '{TEST_END_SIGNAL}' line in {LOG_NAME} (not evaluated yet)"
        return f"no '* {keyword}: ...%' line after '{TEST_END_SIGNAL}'"
    if not parsed.saw_end_signal:
        if parsed.saw_result_block:
            return "eval-only log (has '=> result' but no 'Finish training'): use --test-log"
        return "unfinished (no 'Finish training' in log.txt)"
    return f"no '* {keyword}: ...%' line after 'Finish training'"


# --------------------------------------------------------------------------- discovery
def iter_run_dirs(root) -> Iterator[Path]:
    """Yield every run folder under ``root`` (at any depth), in natural path order.

    Run folders are not descended into (they hold checkpoints, not experiments); hidden
    folders are skipped. Symlinked folders are listed but not followed, to avoid cycles.
    """
    root = Path(root)
    for dirpath, dirnames, _ in os.walk(root):
        dirnames[:] = sorted((d for d in dirnames if not d.startswith(".")), key=natural_key)
        runs = [d for d in dirnames if is_run_dir(Path(dirpath) / d)]
        for d in runs:
            yield Path(dirpath) / d
        dirnames[:] = [d for d in dirnames if d not in runs]


def find_runs(root, keyword: str = "accuracy", test_log: bool = False) -> List[RunRecord]:
    """Every run under ``root``, sorted by experiment path then seed."""
    runs = [read_run(d, root, keyword, test_log) for d in iter_run_dirs(root)]
    return sorted(runs, key=_run_sort_key)


def aggregate(
    runs: Iterable[RunRecord], expected_seeds: Optional[Sequence[int]] = None
) -> List[ExperimentResult]:
    """Group runs by experiment folder (sorted by path); flag expected seeds that are absent."""
    groups: Dict[str, List[RunRecord]] = {}
    for r in runs:
        groups.setdefault(r.experiment, []).append(r)
    out = []
    for experiment, members in groups.items():
        members.sort(key=_run_sort_key)
        present = {r.seed for r in members}
        missing = tuple(s for s in (expected_seeds or ()) if s not in present)
        exp_path = str(Path(members[0].path).parent)
        out.append(
            ExperimentResult(
                experiment=experiment,
                parts=members[0].parts,
                path=exp_path,
                keyword=members[0].keyword,
                runs=tuple(members),
                missing_seeds=missing,
            )
        )
    return sorted(out, key=lambda e: natural_key(e.experiment))


def find_experiments(
    root,
    keyword: str = "accuracy",
    test_log: bool = False,
    expected_seeds: Optional[Sequence[int]] = None,
) -> List[ExperimentResult]:
    """``aggregate(find_runs(root, ...))``: every experiment under ``root``."""
    return aggregate(find_runs(root, keyword, test_log), expected_seeds)


# --------------------------------------------------------------------------- statistics
def mean_std(values: Sequence[float], ci95: bool = False) -> Tuple[Optional[float], Optional[float]]:
    """Mean and population std (np.std, as CoOp), or the 95% half-width 1.96*std/sqrt(n)."""
    if len(values) == 0:
        return None, None
    mean = float(np.mean(values))
    std = float(np.std(values))
    if ci95:
        std = 1.96 * std / math.sqrt(len(values))
    return mean, std


def common_metadata(dicts: Iterable[Dict[str, Any]]) -> Dict[str, Any]:
    """Key/value pairs that every dict has with the same value."""
    dicts = list(dicts)
    if not dicts:
        return {}
    first = dicts[0]
    return {k: v for k, v in first.items() if all(k in d and d[k] == v for d in dicts[1:])}


# --------------------------------------------------------------------------- reporting helpers
def experiment_to_dict(exp: ExperimentResult) -> Dict[str, Any]:
    """A JSON-serialisable view of one experiment (per-seed values, mean, std, ci95, flags)."""
    return {
        "experiment": exp.experiment,
        "parts": list(exp.parts),
        "path": exp.path,
        "keyword": exp.keyword,
        "n": exp.n,
        "seeds": [r.seed if r.seed is not None else r.seed_dir for r in exp.finished],
        "mean": exp.mean,
        "std": exp.std,
        "ci95": exp.ci95,
        "runs": [
            {
                "seed": r.seed,
                "seed_dir": r.seed_dir,
                "value": r.value,
                "source": r.source,
                "note": r.note,
                "metadata": r.metadata,
            }
            for r in exp.runs
        ],
        "unfinished": [r.seed_dir for r in exp.unfinished],
        "missing_seeds": list(exp.missing_seeds),
        "flags": exp.flags,
        "metadata": exp.metadata,
    }


def nothing_found_message(
    root, runs: Sequence[RunRecord], keyword: str = "accuracy", test_log: bool = False
) -> str:
    """Say what was searched and what probably went wrong, for a search that found no value."""
    root = Path(root)
    head = f"Nothing found in {root}"
    if not root.exists():
        return f"{head}: no such directory."
    if not root.is_dir():
        return f"{head}: not a directory (pass the output folder that holds <experiment>/seed<S>/)."

    hints = []
    if not runs:
        hints.append(
            f"no {SEED_PREFIX}*/{LOG_NAME} or {SEED_PREFIX}*/{RESULTS_NAME} at any depth under {root} "
            f"(expected <experiment>/{SEED_PREFIX}<S>/{LOG_NAME}, e.g. "
            f"output/caltech101/LAMM/vit_b16_ep50_ctxv1_16shots/seed1/{LOG_NAME})"
        )
        if is_run_dir(root):
            hints.append(f"{root} is itself a run folder; pass its parent folder")
        elsewhere = _logs_outside_seed_dirs(root)
        if elsewhere:
            shown = ", ".join(str(p) for p in elsewhere[:3]) + (", ..." if len(elsewhere) > 3 else "")
            hints.append(f"found {LOG_NAME} in folders not named {SEED_PREFIX}*: {shown}")
        return head + ":\n  - " + "\n  - ".join(hints)

    hints.append(f"{len(runs)} run folder(s) found, none with a '{keyword}' result")
    notes = sorted({r.note for r in runs if r.note})
    hints += notes
    if not test_log and any("--test-log" in n for n in notes):
        hints.append("eval-only logs need --test-log")
    if any(f"'* {keyword}:" in n for n in notes):
        hints.append(
            f"check --keyword: the Dassl evaluator prints accuracy, error and macro_f1 (got {keyword!r})"
        )
    return head + ":\n  - " + "\n  - ".join(hints)


# --------------------------------------------------------------------------- small helpers
def natural_key(text: str):
    """Sort key that orders "1shots" < "2shots" < "16shots"."""
    return [(0, int(c), "") if c.isdigit() else (1, 0, c) for c in _NATURAL_CHUNK.split(text) if c]


def _run_sort_key(r: RunRecord):
    seed_key = (0, r.seed, "") if r.seed is not None else (1, 0, r.seed_dir)
    return (natural_key(r.experiment), seed_key)


def _relative(path: Path, root) -> str:
    rel = os.path.relpath(os.path.abspath(path), os.path.abspath(root))
    return Path(rel).as_posix()


def _parts(experiment: str) -> Tuple[str, ...]:
    return () if experiment == "." else tuple(experiment.split("/"))


def _logs_outside_seed_dirs(root: Path, limit: int = 10) -> List[Path]:
    found = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        if LOG_NAME in filenames and not Path(dirpath).name.startswith(SEED_PREFIX):
            found.append(Path(dirpath) / LOG_NAME)
            if len(found) >= limit:
                break
    return found

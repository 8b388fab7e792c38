"""Find finished runs under an output folder and aggregate their test accuracy over seeds."""
import math
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, Iterable, Iterator, List, Optional, Sequence, Tuple

import numpy as np

from trainers.record import RECORD_FILE as RESULTS_NAME
from trainers.record import COST_FIELDS, identity_differences, read_record, record_identity

LOG_NAME = "log.txt"
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


@dataclass(frozen=True)
class LogParse:
    """What a pass over one log found."""

    value: Optional[float]  # last "* <keyword>: v%" after the end signal; None if none
    saw_end_signal: bool  # a line equal to one of the end signals
    saw_result_block: bool  # a "=> result" line anywhere (tells eval-only logs apart)


@dataclass(frozen=True)
class SeedRun:
    """One seed folder."""

    experiment: str  # experiment folder relative to the searched root, POSIX style; "." for the root
    parts: Tuple[str, ...]  # experiment.split("/"); () for the root
    seed_dir: str  # folder name, e.g. "seed1"
    seed: Optional[int]
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

    @property
    def identity(self) -> Dict[str, Any]:
        """The ``IDENTITY_FIELDS`` this run's record states ({} without a record)."""
        return record_identity(self.metadata)


def _show(value) -> str:
    if isinstance(value, dict):
        return ",".join(f"{k}={v}" for k, v in value.items())
    return str(value)


@dataclass(frozen=True)
class ExperimentResult:
    """Runs of one folder that share one recorded identity, and their mean / spread over seeds."""

    experiment: str
    parts: Tuple[str, ...]
    path: str  # the experiment folder
    keyword: str
    runs: Tuple[SeedRun, ...]  # seed folders whose values count (plus unfinished ones), sorted by seed
    missing_seeds: Tuple[int, ...] = ()  # expected seeds with no folder at all
    excluded: Tuple[Tuple[SeedRun, str], ...] = ()
    notes: Tuple[str, ...] = ()
    folder: str = ""  # the folder relative to the searched root ("" = experiment)

    @property
    def finished(self) -> Tuple[SeedRun, ...]:
        return tuple(r for r in self.runs if r.finished)

    @property
    def unfinished(self) -> Tuple[SeedRun, ...]:
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
        """Record entries shared by every finished run (seed, accuracy, ... drop out)."""
        return common_metadata(r.metadata for r in self.finished)

    @property
    def cost(self) -> Dict[str, Optional[float]]:
        """Each of the record's ``cost`` fields, averaged over the finished runs that state it."""
        out = {}
        for name in COST_FIELDS:
            values = [r.metadata.get("cost", {}).get(name) for r in self.finished
                      if isinstance(r.metadata.get("cost"), dict)]
            values = [v for v in values if isinstance(v, (int, float)) and not isinstance(v, bool)]
            out[name] = float(np.mean(values)) if values else None
        return out

    @property
    def labels(self) -> List[str]:
        """What sets the runs apart from default training runs, shown next to the name in every table."""
        meta = self.metadata
        out = []
        if meta.get("untrained"):
            out.append("untrained")
        elif meta.get("eval_only"):
            out.append("eval-only")
        if meta.get("preset") not in (None, "", "default"):
            out.append(f"{meta['preset']} preset")
        return out

    @property
    def flags(self) -> List[str]:
        """Human-readable problems: unfinished, left-out and absent seeds, foreign runs."""
        out = [f"{r.seed_dir}: {r.note or 'no result'}" for r in self.unfinished]
        out += [f"{r.seed_dir}: {why}" for r, why in self.excluded]
        out += list(self.notes)
        out += [f"{SEED_PREFIX}{s}: absent" for s in self.missing_seeds]
        return out


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
    """Return (record, problem); problem is "" for a record of a finished run."""
    path = Path(path)
    content = read_record(path.parent)  # the one record reader: None = the run is not finished
    if content is None or _json_value(content, "accuracy") is None:
        return {}, f"unreadable {RESULTS_NAME} (or no finite 'accuracy' in it): run not finished"
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
        and ((path / LOG_NAME).is_file() or (path / RESULTS_NAME).is_file()))


def read_run(
    run_dir, root=None, keyword: str = "accuracy", test_log: bool = False
) -> SeedRun:
    """Read one seed folder: its record when it has one, else (CoOp's runs) log.txt."""
    run_dir = Path(run_dir)
    exp_dir = run_dir.parent
    experiment = _relative(exp_dir, root if root is not None else exp_dir)
    common = dict(
        experiment=experiment,
        parts=_parts(experiment),
        seed_dir=run_dir.name,
        path=str(run_dir),
        keyword=keyword,
    )
    folder_seed = seed_number(run_dir.name)

    json_path = run_dir / RESULTS_NAME
    log_path = run_dir / LOG_NAME
    if json_path.is_file():
        metadata, problem = read_results_json(json_path)
        recorded = metadata.get("seed")
        seed = recorded if isinstance(recorded, int) and not isinstance(recorded, bool) else folder_seed
        common.update(seed=seed, metadata=metadata)
        if problem:  # a record that does not parse is an unfinished run, whatever the log says
            return SeedRun(value=None, source=None, note=problem, **common)
        value = _json_value(metadata, keyword)
        if value is not None:
            return SeedRun(value=value, source=str(json_path), **common)
        if not log_path.is_file():  # e.g. macro_f1, which the record does not hold
            return SeedRun(value=None, source=None, note=f"no numeric {keyword!r} in {RESULTS_NAME} "
                             f"and no {LOG_NAME}", **common)
    else:
        common.update(seed=folder_seed)
        if not log_path.is_file():
            return SeedRun(value=None, source=None, note=f"no {LOG_NAME}", **common)

    parsed = parse_log(log_path, keyword, test_log)
    if parsed.value is not None:
        return SeedRun(value=parsed.value, source=str(log_path), **common)
    return SeedRun(value=None, source=None, note=_log_problem(parsed, keyword, test_log), **common)


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


def iter_run_dirs(root) -> Iterator[Path]:
    """Yield every run folder under ``root`` (at any depth), in natural path order."""
    root = Path(root)
    for dirpath, dirnames, _ in os.walk(root):
        dirnames[:] = sorted((d for d in dirnames if not d.startswith(".")), key=natural_key)
        runs = [d for d in dirnames if is_run_dir(Path(dirpath) / d)]
        for d in runs:
            yield Path(dirpath) / d
        dirnames[:] = [d for d in dirnames if d not in runs]


def find_runs(root, keyword: str = "accuracy", test_log: bool = False) -> List[SeedRun]:
    """Every run under ``root``, sorted by experiment path then seed."""
    runs = [read_run(d, root, keyword, test_log) for d in iter_run_dirs(root)]
    return sorted(runs, key=_run_sort_key)


def aggregate(
    runs: Iterable[SeedRun], expected_seeds: Optional[Sequence[int]] = None
) -> List[ExperimentResult]:
    """Group runs by folder, then by recorded identity; flag foreign runs and repeated seeds."""
    folders: Dict[str, List[SeedRun]] = {}
    for r in runs:
        folders.setdefault(r.experiment, []).append(r)
    out = []
    for folder, members in folders.items():
        members.sort(key=_run_sort_key)
        out += _split_folder(folder, members, expected_seeds)
    return sorted(out, key=lambda e: (natural_key(e.folder), e.experiment != e.folder, natural_key(e.experiment)))


def _split_folder(folder: str, members: List[SeedRun], expected_seeds) -> List[ExperimentResult]:
    groups: List[Tuple[Dict[str, Any], List[SeedRun]]] = []
    anonymous = []
    for r in members:
        ident = r.identity
        if not ident:
            anonymous.append(r)
            continue
        for g_ident, g_runs in groups:
            if not identity_differences(ident, g_ident):
                g_runs.append(r)
                g_ident.update(ident)  # what any member states (they never conflict within a group)
                break
        else:
            groups.append((dict(ident), [r]))
    if not groups:
        groups = [({}, [])]
    main = max(range(len(groups)), key=lambda i: (len(groups[i][1]), -i))
    groups.insert(0, groups.pop(main))
    groups[0][1].extend(anonymous)

    exp_path = str(Path(members[0].path).parent)
    results = []
    own_ident = groups[0][0]
    for i, (ident, g_runs) in enumerate(groups):
        g_runs.sort(key=_run_sort_key)
        notes: List[str] = []
        if i == 0:
            name = folder
            for other_ident, other_runs in groups[1:]:
                diff = identity_differences(other_ident, own_ident)
                what = ", ".join(f"{k}={_show(other_ident[k])}" for k in diff)
                for r in other_runs:
                    notes.append(f"{r.seed_dir}: foreign run ({what}; here {', '.join(_show(own_ident[k]) for k in diff)}),"
                                 f" not averaged: {r.path}")
        else:
            diff = identity_differences(ident, own_ident)
            name = f"{folder} [{' '.join(f'{k}={_show(ident[k])}' for k in diff)}]"
            notes.append(f"foreign run(s) in {exp_path} (its other runs: "
                         + ", ".join(f"{k}={_show(own_ident[k])}" for k in diff) + ")")
        kept, excluded, seen = [], [], {}
        for r in g_runs:
            if r.finished and r.seed is not None and r.seed in seen:
                excluded.append((r, f"duplicate seed {r.seed} (also in {seen[r.seed].path}), not averaged: {r.path}"))
                continue
            if r.finished and r.seed is not None:
                seen[r.seed] = r
            kept.append(r)
        present = {r.seed for r in g_runs}
        missing = tuple(s for s in (expected_seeds or ()) if s not in present) if i == 0 else ()
        results.append(ExperimentResult(
            experiment=name, parts=members[0].parts, path=exp_path, keyword=members[0].keyword,
            runs=tuple(kept), missing_seeds=missing, excluded=tuple(excluded), notes=tuple(notes),
            folder=folder,
        ))
    return results


def find_experiments(
    root,
    keyword: str = "accuracy",
    test_log: bool = False,
    expected_seeds: Optional[Sequence[int]] = None,
) -> List[ExperimentResult]:
    """``aggregate(find_runs(root, ...))``: every experiment under ``root``."""
    return aggregate(find_runs(root, keyword, test_log), expected_seeds)


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
    first, *others = list(dicts) or [{}]
    return {k: v for k, v in first.items() if all(k in d and d[k] == v for d in others)}


def experiment_to_dict(exp: ExperimentResult) -> Dict[str, Any]:
    """A JSON-serialisable view of one experiment (per-seed values, mean, std, ci95, flags)."""
    return {
        "experiment": exp.experiment,
        "folder": exp.folder,
        "parts": list(exp.parts),
        "path": exp.path,
        "keyword": exp.keyword,
        "n": exp.n,
        "seeds": [r.seed if r.seed is not None else r.seed_dir for r in exp.finished],
        "mean": exp.mean,
        "std": exp.std,
        "ci95": exp.ci95,
        "runs": [{k: getattr(r, k) for k in ("seed", "seed_dir", "value", "source", "note", "metadata")}
                 for r in exp.runs],
        "labels": exp.labels,
        "unfinished": [r.seed_dir for r in exp.unfinished],
        "excluded": [{"path": r.path, "seed": r.seed, "reason": why} for r, why in exp.excluded],
        "missing_seeds": list(exp.missing_seeds),
        "flags": exp.flags,
        "metadata": exp.metadata,
        "cost": exp.cost,
    }


def nothing_found_message(root, runs: Sequence[SeedRun], keyword: str = "accuracy", test_log: bool = False) -> str:
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
            f"output/caltech101/LAMM/vit_b16_ep50_ctxv1_16shots/seed1/{LOG_NAME})")
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
        hints.append(f"check --keyword: the Dassl evaluator prints accuracy, error and macro_f1 (got {keyword!r})")
    return head + ":\n  - " + "\n  - ".join(hints)


def natural_key(text: str):
    """Sort key that orders "1shots" < "2shots" < "16shots"."""
    return [(0, int(c), "") if c.isdigit() else (1, 0, c) for c in _NATURAL_CHUNK.split(text) if c]


def _run_sort_key(r: SeedRun):
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

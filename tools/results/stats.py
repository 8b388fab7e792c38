"""Means over seeds and over datasets, with what they are made of and what is missing."""
import math
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from tools.results.classify import Entry, dataset_sort_key
from tools.results.collect import natural_key


@dataclass(frozen=True)
class Stat:
    """A mean over seeds (or over datasets) with what it is made of and what is missing."""

    mean: Optional[float]
    std: Optional[float]
    ci95: Optional[float]
    per_seed: Dict[str, float]  # seed -> value (per-seed average for an average)
    flags: Tuple[str, ...] = ()  # absent/unfinished seeds, duplicates
    coverage: Optional[Tuple[int, int]] = None  # (datasets averaged, datasets expected)
    missing: Tuple[str, ...] = ()  # expected datasets without a value
    parts: Tuple[str, ...] = ()  # datasets in the average
    sources: Tuple[str, ...] = ()  # experiment folders the numbers come from

    @property
    def n(self) -> int:
        return len(self.per_seed)

    @property
    def seeds(self) -> List[str]:
        return sorted(self.per_seed, key=natural_key)

    @property
    def incomplete(self) -> bool:
        return self.coverage is not None and self.coverage[0] < self.coverage[1]


def _spread(values: Sequence[float]) -> Tuple[Optional[float], Optional[float]]:
    if not values:
        return None, None
    std = float(np.std(values))
    return std, 1.96 * std / math.sqrt(len(values))


def _one_config(entries: Sequence[Entry]) -> Tuple[List[Entry], List[str]]:
    """The entries of one cell that share a config fingerprint (the one with most runs)."""
    prints = [e.fingerprint for e in entries if e.fingerprint]
    if len(set(prints)) < 2:
        return list(entries), []
    counts = {p: sum(len(e.exp.finished) for e in entries if e.fingerprint == p) for p in prints}
    keep = max(dict.fromkeys(prints), key=lambda p: counts[p])
    kept = [e for e in entries if e.fingerprint in (keep, None)]
    flags = [f"{e.exp.experiment}: another config (fingerprint {e.fingerprint}, here {keep}), not averaged: "
             f"{e.exp.path}" for e in entries if e.fingerprint not in (keep, None)]
    return kept, flags


def stat_from_entries(entries: Sequence[Entry], expected_seeds: Optional[Sequence[str]] = None) -> Optional[Stat]:
    """Mean ± std over the seeds of one cell's experiment(s) (normally exactly one)."""
    if not entries:
        return None
    entries, flags = _one_config(entries)
    per_seed: Dict[str, float] = {}
    source: Dict[str, str] = {}
    present = set()
    for e in entries:
        for r in e.exp.runs:
            present.add(r.seed_label)
            if not r.finished:
                continue
            if r.seed_label in per_seed:
                flags.append(f"seed{r.seed_label} in both {source[r.seed_label]} and {e.exp.experiment}; "
                             f"the first is used")
                continue
            per_seed[r.seed_label] = r.value
            source[r.seed_label] = e.exp.experiment
        # unfinished, left-out and foreign runs; absent seeds are checked below (zero-shot runs once)
        flags += [f"{e.exp.experiment}: {r.seed_dir}: {r.note or 'no result'}" for r in e.exp.unfinished]
        flags += [f"{e.exp.experiment}: {r.seed_dir}: {why}" for r, why in e.exp.excluded]
        flags += [f"{e.exp.experiment}: {note}" for note in e.exp.notes]
    shot_free = all(e.method is not None and e.method.shot_free for e in entries)
    if expected_seeds and not shot_free:
        absent = [s for s in expected_seeds if s not in present]
        if absent:
            where = entries[0].exp.experiment
            flags.append(f"{where}: " + ", ".join(f"seed{s}" for s in absent) + " absent")
    sources = tuple(e.exp.experiment for e in entries)
    if not per_seed:
        return Stat(None, None, None, {}, tuple(flags), sources=sources)
    values = [per_seed[s] for s in sorted(per_seed, key=natural_key)]
    std, ci = _spread(values)
    return Stat(float(np.mean(values)), std, ci, per_seed, tuple(flags), sources=sources)


def average_stat(by_dataset: Dict[str, Optional[Stat]], expected: Optional[Sequence[str]] = None) -> Optional[Stat]:
    """Mean over datasets of the per-dataset means; std over seeds of the per-seed averages."""
    have = {d: s for d, s in by_dataset.items() if s is not None and s.mean is not None}
    names = list(expected) if expected is not None else sorted(have, key=dataset_sort_key)
    used = [d for d in names if d in have]
    if not used:
        return None
    missing = tuple(d for d in names if d not in have)
    mean = float(np.mean([have[d].mean for d in used]))
    common = set.intersection(*(set(have[d].per_seed) for d in used))
    per_seed = {s: float(np.mean([have[d].per_seed[s] for d in used])) for s in common}
    std, ci = _spread([per_seed[s] for s in sorted(per_seed, key=natural_key)])
    flags = tuple(f for d in used for f in have[d].flags)
    sources = tuple(x for d in used for x in have[d].sources)
    return Stat(mean, std, ci, per_seed, flags, (len(used), len(names)), missing, tuple(used), sources)


def difference_stat(a: Optional[Stat], b: Optional[Stat]) -> Optional[Stat]:
    """a − b: difference of the means; the spread over seeds that both have (paired)."""
    if a is None or b is None or a.mean is None or b.mean is None:
        return None
    common = sorted(set(a.per_seed) & set(b.per_seed), key=natural_key)
    per_seed = {s: a.per_seed[s] - b.per_seed[s] for s in common}
    std, ci = _spread([per_seed[s] for s in common])
    flags = list(a.flags) + [f for f in b.flags if f not in a.flags]
    unpaired = sorted(set(a.per_seed) ^ set(b.per_seed), key=natural_key)
    if unpaired:
        flags.append("seeds without a pair: " + ", ".join(unpaired))
    return Stat(a.mean - b.mean, std, ci, per_seed, tuple(flags), sources=a.sources + b.sources)


def harmonic_mean_stat(a: Optional[Stat], b: Optional[Stat]) -> Optional[Stat]:
    """2ab / (a + b) of the means (base-to-new HM); the spread over per-seed HMs."""
    if a is None or b is None or a.mean is None or b.mean is None or a.mean + b.mean == 0:
        return None

    def hm(x, y):
        return 2 * x * y / (x + y) if x + y else 0.0

    common = sorted(set(a.per_seed) & set(b.per_seed), key=natural_key)
    per_seed = {s: hm(a.per_seed[s], b.per_seed[s]) for s in common}
    std, ci = _spread([per_seed[s] for s in common])
    return Stat(hm(a.mean, b.mean), std, ci, per_seed, tuple(a.flags) + tuple(b.flags),
                sources=a.sources + b.sources)

"""A grid of runs: methods x variants under one protocol, over datasets, shots and seeds, checked and expanded."""
import os
from dataclasses import dataclass
from typing import Callable, Dict, List, Optional, Sequence, Tuple

from tools.results.collect import natural_key
from tools.runs.protocols import PAPER_SEEDS, PROTOCOLS, SOURCE_DATASET, Spec, benchmarks, dg_targets
from tools.runs.run import REPO_ROOT, Run, RunError
from tools.runs.variants import DEFAULT_VARIANT, VARIANT_GROUPS, VARIANTS
from trainers.methods import METHODS

DATASET_CONFIG_DIR = REPO_ROOT / "configs" / "datasets"


@dataclass(frozen=True)
class Grid:
    """What to run: methods x variants under one protocol, over datasets, shots and seeds."""

    methods: Tuple[str, ...]
    datasets: Tuple[str, ...] = ("all",)  # names, or "all" (the protocol's datasets or targets)
    shots: Optional[Tuple] = None  # None: the protocol's default
    seeds: Tuple = PAPER_SEEDS
    opts: Tuple[str, ...] = ()
    tag: str = ""
    protocol: str = "fewshot"
    variants: Tuple[str, ...] = (DEFAULT_VARIANT,)
    official: bool = False  # OFFICIAL=1: every run with the official preset, named "official"


def resolve_methods(names: Sequence[str]) -> List[str]:
    """Trainer names (case-insensitive) or "all", in the order given, without repeats."""
    by_lower = {m.lower(): m for m in METHODS}
    out: List[str] = []
    for name in names:
        if name.lower() == "all":
            chosen = list(METHODS)
        elif name.lower() in by_lower:
            chosen = [by_lower[name.lower()]]
        else:
            raise RunError(f"unknown method {name!r}; known: {', '.join(METHODS)} (or all).")
        out += [m for m in chosen if m not in out]
    if not out:
        raise RunError("no method given (--methods LAMM CoOpLAMM ..., or all).")
    return out


def resolve_variants(names: Sequence[str]) -> List[str]:
    """Variant names ("default", a VARIANTS key, a group, or a CLIP backbone name such as ViT-B/16)."""
    aliases = {"ViT-B/16": DEFAULT_VARIANT, **{v.opts[1]: v.name for v in VARIANTS.values()
                                                if v.opts[0] == "MODEL.BACKBONE.NAME"}}
    out: List[str] = []
    for name in names:
        chosen = VARIANT_GROUPS.get(name) or ((aliases.get(name, name),))
        for v in chosen:
            if v != DEFAULT_VARIANT and v not in VARIANTS:
                raise RunError(f"unknown variant {name!r}; known: {DEFAULT_VARIANT}, {', '.join(VARIANTS)}, "
                               f"groups {', '.join(VARIANT_GROUPS)}.")
            if v not in out:
                out.append(v)
    return out or [DEFAULT_VARIANT]


def available_dataset_configs() -> List[str]:
    return sorted(p.stem for p in DATASET_CONFIG_DIR.glob("*.yaml"))


def resolve_datasets(names: Sequence[str], notes: Optional[List[str]] = None,
                     default: Callable[[], Tuple[str, ...]] = benchmarks) -> List[str]:
    """Dataset config names; "all" is every dataset of ``default`` that has a config, read now."""
    have = available_dataset_configs()
    lists = {"all": default, "benchmarks": benchmarks, "dg_targets": dg_targets}
    out: List[str] = []
    for name in names:
        if name.lower() in lists:
            wanted = lists[name.lower()]()
            chosen = [d for d in wanted if d in have]
            missing = [d for d in wanted if d not in have]
            if not chosen:
                raise RunError(f"--datasets {name}: none of the benchmark datasets has a config in "
                               f"{DATASET_CONFIG_DIR} (expected {', '.join(wanted)}).")
            if missing and notes is not None:
                notes.append(f"datasets {name} = the {len(chosen)} of {len(wanted)} benchmark datasets "
                             f"with a config; no config yet for: {', '.join(missing)}")
        elif name in have:
            chosen = [name]
        else:
            raise RunError(f"dataset {name!r} has no config: {DATASET_CONFIG_DIR / (name + '.yaml')} not found "
                           f"(available: {', '.join(have) or 'none'}).")
        out += [d for d in chosen if d not in out]
    if not out:
        raise RunError("no dataset given (--datasets caltech101 ..., or all).")
    return out


def positive_ints(values, what: str) -> List[int]:
    out: List[int] = []
    for v in values:
        try:
            number = int(v)
        except (TypeError, ValueError):
            raise RunError(f"{what} must be whole numbers, got {v!r}.") from None
        if number < 1:
            # train.py ignores --seed 0 (random seed), and 0 shots is no few-shot run.
            raise RunError(f"{what} must be 1 or more, got {number}.")
        if number not in out:
            out.append(number)
    if not out:
        raise RunError(f"no {what} given.")
    return out


def expand(grid: Grid, output: str, data: str, python: str = "python", notes: Optional[List[str]] = None) -> List[Run]:
    """Every run of the grid, by method, variant and the protocol's order; checks every config exists."""
    if grid.protocol not in PROTOCOLS:
        raise RunError(f"unknown protocol {grid.protocol!r}; known: {', '.join(PROTOCOLS)}.")
    protocol = PROTOCOLS[grid.protocol]
    if len(grid.opts) % 2:
        raise RunError(f"config overrides come in KEY VALUE pairs, got: {' '.join(grid.opts)}")
    methods = resolve_methods(grid.methods)
    datasets = resolve_datasets(grid.datasets, notes, protocol.default_datasets)
    if protocol.datasets_are == "targets" and SOURCE_DATASET in datasets:
        raise RunError(f"{SOURCE_DATASET} is where {grid.protocol} trains (its source); it cannot also be one of its "
                       f"targets, evaluated with its own model: leave it out of TARGETS/DATASETS (--datasets).")
    shots = positive_ints(grid.shots if grid.shots is not None else protocol.default_shots, "shots")
    seeds = positive_ints(grid.seeds, "seeds")
    variants = resolve_variants(grid.variants)
    output, data = os.path.abspath(output), os.path.abspath(data)
    runs: List[Run] = []
    seen = set()
    for trainer in methods:
        m = METHODS[trainer]
        if m.few_shot:
            for k in shots:
                if not m.config_file(k).is_file():
                    have = sorted((p.name for p in m.config_file(k).parent.glob("*.yaml")), key=natural_key)
                    raise RunError(f"{trainer} has no config for {k} shots: {m.config_file(k)} not found "
                                   f"(available: {', '.join(have)}).")
        for variant in variants:
            named = tuple(v for v in (variant, "official" if grid.official else "") if v and v != DEFAULT_VARIANT)
            spec = Spec(trainer, tuple(datasets), tuple(shots), tuple(seeds), output, data, tuple(grid.opts),
                        grid.tag, python, tuple(dict.fromkeys(named)))
            for run in protocol.build(spec):
                run.check_name()
                if run.run_dir not in seen:
                    seen.add(run.run_dir)
                    runs.append(run)
    return runs


def stages(runs: Sequence[Run]) -> List[List[Run]]:
    """The runs in waves: each run after every run it needs (a wave runs in parallel)."""
    depth: Dict[str, int] = {}
    by_dir = {r.run_dir: r for r in runs}

    def level(run: Run) -> int:
        if run.run_dir not in depth:
            depth[run.run_dir] = 1 + max((level(by_dir[d]) for d in run.needs if d in by_dir), default=-1)
        return depth[run.run_dir]

    waves: Dict[int, List[Run]] = {}
    for run in runs:
        waves.setdefault(level(run), []).append(run)
    return [waves[i] for i in sorted(waves)]

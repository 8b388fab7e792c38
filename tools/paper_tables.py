"""Tables shaped like the LAMM paper's (Gao et al., AAAI 2024), built from run records.

``tools/run_results.py`` finds every run and groups the runs of one recorded identity; this
module reads what each experiment is from its records (``results.json``: method, dataset,
protocol, variant, num_shots, backbone, loss, labels, stage, eval_set, source_dataset,
preset, untrained; schema in ``docs/EXPERIMENTS.md``) and arranges them like the papers.
Folder names are never parsed: they are for people.

===============  ============================================================  ===============
table            rows x columns                                                paper
===============  ============================================================  ===============
``fewshot``      method x shots, mean over datasets                            Table 3, Fig. 3
``datasets``     dataset x method at one shot count, with the average          Fig. 3 panels
``hl``           hierarchical-loss terms x method, mean over datasets          Table 4
``init``         shots x (random, word) label initialisation                   Table 5
``backbones``    method x vision backbone, mean over datasets                  Fig. 4
``incremental``  method x (Set 1, Set 2, Set 1 after stage 1, degradation)     Table 2
                 x dataset
``dg``           method x (ImageNet, -V2, -Sketch, -A, -R, averages)           Table 1
``base2new``     (average | dataset) x method x (base, new, HM)                MaPLe Table 1
``cross``        method x (source, each target, average over targets)          MaPLe Table 2
===============  ============================================================  ===============

Every number is a mean over seeds with the population std (as CoOp's ``parse_test_res.py``);
an average over datasets is the mean of the per-dataset means, and its spread the std over
seeds of the per-seed averages (seeds that every averaged dataset has). Incomplete cells say
so: ``[k/N]`` marks an average over k of the N expected datasets, ``*`` a cell with absent,
unfinished, foreign or repeated seeds; the notes under each table list them. Untrained runs
(``untrained: true``), eval-only runs of the few-shot protocol and runs of a preset other than
the default are rows of their own, labelled so. Everything here is pure (no printing).
"""
import csv
import io
import json
import math
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Dict, Iterable, List, Optional, Sequence, Tuple

import numpy as np
from tabulate import tabulate

from datasets.catalog import CATALOG, DG_TARGETS, FEWSHOT_BENCHMARKS, lookup
from tools.run_results import ExperimentResult, experiment_to_dict, natural_key

REPO_ROOT = Path(__file__).resolve().parent.parent
PAPER_RESULTS = REPO_ROOT / "docs" / "paper_results.csv"

# --------------------------------------------------------------------------- names
# Records name datasets by Dassl NAME ("OxfordFlowers"); the benchmark lists hold config keys.
PAPER_DATASETS = tuple(CATALOG[k].name for k in FEWSHOT_BENCHMARKS)
DG_TARGET_NAMES = tuple(CATALOG[k].name for k in DG_TARGETS)
DG_SOURCE = CATALOG["imagenet"].name
# The column names the LAMM paper uses where they are not the NAME.
_PAPER_LABELS = {"OxfordFlowers": "Flowers102", "DescribableTextures": "DTD", "ImageNetV2": "-V2",
                 "ImageNetSketch": "-Sketch", "ImageNetA": "-A", "ImageNetR": "-R"}
_DATASET_ORDER = {name: i for i, name in enumerate(PAPER_DATASETS + DG_TARGET_NAMES)}
_LABEL_KEYS = {label.lower(): name for name, label in _PAPER_LABELS.items()}

TRAINER_ORDER = ("ZeroshotCLIP", "LAMM", "CoOp", "CoOpLAMM", "CoCoOp", "MaPLe", "MaPLeLAMM")
TRAINER_LABELS = {"ZeroshotCLIP": "Zero-shot CLIP", "CoOpLAMM": "CoOp+LAMM", "MaPLeLAMM": "MaPLe+LAMM"}
SHOT_FREE_TRAINERS = frozenset({"ZeroshotCLIP"})  # nothing is trained: one number for every shot count

# Loss terms of the hierarchical loss (paper Eq. 9), in the paper's order.
LOSS_TERMS = ("ce", "wc", "cos", "kd")
ALL_TERMS = frozenset(LOSS_TERMS)
CE_ONLY = frozenset({"ce"})
# Table 4's rows in the paper's order.
HL_ROWS = ("ce", "ce+wc+cos+kd", "ce+cos+kd", "ce+wc+kd", "ce+wc+cos", "ce+kd", "ce+cos", "ce+wc")

# Variant names the scripts use for the paper's ablations, shown as the paper names them.
VARIANT_LABELS = {"woHL": "w/o HL", "random_init": "random init"}


def dataset_key(name: Optional[str]) -> Optional[str]:
    """The Dassl NAME of a dataset given its NAME, config key or paper label; unknown names pass."""
    if name is None:
        return None
    info = lookup(str(name))
    if info is not None:
        return info.name
    return _LABEL_KEYS.get(str(name).lower(), str(name))


def dataset_label(name: str) -> str:
    return _PAPER_LABELS.get(name, name)


def _dataset_sort_key(name: str):
    return (_DATASET_ORDER.get(name, len(_DATASET_ORDER)), natural_key(name))


_BACKBONE_ORDER = ("RN50", "RN101", "RN50x4", "RN50x16", "RN50x64", "ViT-B/32", "ViT-B/16", "ViT-L/14")


def _backbone_sort_key(name: str):
    return (_BACKBONE_ORDER.index(name) if name in _BACKBONE_ORDER else len(_BACKBONE_ORDER), name)


def loss_terms_name(terms: Iterable[str]) -> str:
    """``{"kd", "ce"}`` -> ``"ce+kd"`` (the paper's order)."""
    terms = set(terms)
    return "+".join(t for t in LOSS_TERMS if t in terms)


# --------------------------------------------------------------------------- what an experiment is
@dataclass(frozen=True)
class Method:
    """What was trained (one row of a table), as its records state it."""

    trainer: str
    variant: str = ""  # RUN.VARIANT ("" = the shipped config)
    backbone: str = ""  # "ViT-B/16", "RN50", ... ("" when the record does not say)
    preset: str = "default"  # TRAINER.LAMM.PRESET
    untrained: bool = False  # evaluated the untrained prompts (eval-only without --model-dir)
    eval_only: bool = False  # few-shot protocol only: an evaluation of a trained checkpoint
    loss: str = ""  # loss terms in force ("ce+wc"), LAMM trainers only: labels the variant

    @property
    def shot_free(self) -> bool:
        return self.trainer in SHOT_FREE_TRAINERS


@dataclass(frozen=True)
class Entry:
    """One experiment (runs of one identity), classified from its records."""

    exp: ExperimentResult
    kind: Optional[str]  # fewshot | dg | incremental | base2new | cross_dataset | None (not a table's)
    method: Optional[Method]
    dataset: Optional[str]  # Dassl NAME
    shots: Optional[int]
    stage: Optional[int] = None  # incremental: 1 or 2
    eval_set: Optional[Any] = None  # incremental: 1, 2 (0: all classes); base2new: "base"/"new"; cross: target
    subsample: str = "all"
    loss_terms: Optional[frozenset] = None  # LAMM trainers only
    label_init: Optional[str] = None  # LAMM trainers only: "word" or "random"
    source_dataset: Optional[str] = None  # dg / cross_dataset evaluations: what the model was trained on
    eval_only: bool = False

    @property
    def ablation_only(self) -> bool:
        """A Table 4 / Table 5 variant that does not belong in the main few-shot table."""
        partial_loss = self.loss_terms is not None and self.loss_terms not in (ALL_TERMS, CE_ONLY)
        return partial_loss or self.label_init == "random"

    @property
    def fingerprint(self) -> Optional[str]:
        return self.exp.metadata.get("config_fingerprint")


def _int(value) -> Optional[int]:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _text(value) -> str:
    return value.strip() if isinstance(value, str) else ""


def _read_lamm_config(exp: ExperimentResult) -> Dict[str, Any]:
    """``TRAINER.LAMM`` of the first run with a ``config.yaml``: for records older than ``loss``."""
    for run in exp.finished + exp.unfinished:
        path = Path(run.path) / "config.yaml"
        if not path.is_file():
            continue
        try:
            import yaml

            with open(path, encoding="utf-8") as f:
                cfg = yaml.load(f, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
            lamm = (cfg or {}).get("TRAINER", {}).get("LAMM")
        except Exception:  # a partial or foreign config says nothing
            continue
        if isinstance(lamm, dict):
            return lamm
    return {}


def _loss_terms_from_config(lamm: Dict[str, Any]) -> Optional[frozenset]:
    if "HIERARCHICAL_LOSS" not in lamm and not any(k in lamm for k in ("LAMBDA_WC", "LAMBDA_COS", "LAMBDA_KD")):
        return None
    if not lamm.get("HIERARCHICAL_LOSS", True):
        return CE_ONLY
    terms = {"ce"}
    for term, key in (("wc", "LAMBDA_WC"), ("cos", "LAMBDA_COS"), ("kd", "LAMBDA_KD")):
        value = lamm.get(key, 1.0)
        if not isinstance(value, (int, float)) or value != 0:  # negative LAMBDA_WC means 1/shots
            terms.add(term)
    return frozenset(terms)


def resolved_protocol(meta: Dict[str, Any]) -> str:
    """The record's ``protocol``; for older records the rule RUN.PROTOCOL "" follows."""
    protocol = _text(meta.get("protocol"))
    if protocol:
        return protocol
    if meta.get("stage") not in (None, 0) and meta.get("eval_set") is not None:
        return "incremental"
    if _text(meta.get("train_classes")).lower() not in ("", "all"):
        return "incremental"
    if _text(meta.get("subsample_classes")).lower() in ("base", "new"):
        return "base2new"
    return "fewshot"


def _incremental_set(meta: Dict[str, Any]) -> Optional[int]:
    """1 (Set 1 = base classes), 2 (Set 2 = new), 0 (all classes): eval_set, else what was tested."""
    value = _text(meta.get("eval_set")).lower() or _text(meta.get("subsample_classes")).lower()
    return {"set1": 1, "base": 1, "set2": 2, "new": 2, "all": 0, "train": 0, "set1+2": 0}.get(value)


def _own_variant(variant: str, backbone: str, preset: str) -> str:
    """The variant less the names of what other record fields already state.

    The scripts name a backbone or preset variant after it ("rn50", "vit_b32", "official") and
    the record also holds ``backbone`` / ``preset``; left in, the name would split a method's
    row from its default-backbone runs in the backbone table and label the preset twice.
    """
    for said in (backbone.lower().replace("-", "_").replace("/", ""), preset if preset != "default" else ""):
        if not said or not variant:
            continue
        if variant == said:
            variant = ""
        elif variant.endswith("_" + said):
            variant = variant[:-len(said) - 1]
        elif variant.startswith(said + "_"):
            variant = variant[len(said) + 1:]
        else:
            variant = variant.replace(f"_{said}_", "_")
    return variant


def describe(exp: ExperimentResult) -> Entry:
    """Classify one experiment from what its records state (nothing from folder names)."""
    meta = exp.metadata
    trainer = meta.get("method", meta.get("trainer"))
    dataset = dataset_key(meta.get("dataset")) if meta.get("dataset") else None
    if not isinstance(trainer, str) or not trainer or dataset is None:
        return Entry(exp, None, None, dataset, None)

    shots = _int(meta.get("num_shots"))
    shots = shots if shots is not None and shots > 0 else None
    protocol = resolved_protocol(meta)
    eval_only = bool(meta.get("eval_only"))
    untrained = bool(meta.get("untrained"))
    subsample = (_text(meta.get("subsample_classes")) or "all").lower()

    loss_terms = label_init = None
    loss, labels = meta.get("loss"), meta.get("labels")
    if isinstance(labels, dict):  # a LAMM trainer: it has label embeddings
        in_force = [t for t, w in loss.items() if w] if isinstance(loss, dict) else []  # a 0 weight is off
        loss_terms = frozenset(in_force) if in_force else ALL_TERMS
        label_init = _text(labels.get("init")).lower() or "word"
    elif "labels" not in meta and trainer.endswith("LAMM"):  # records older than "labels"
        lamm = _read_lamm_config(exp)
        loss_terms = _loss_terms_from_config(lamm) or ALL_TERMS
        label_init = _text(lamm.get("LABEL_INIT")).lower() or "word"

    shot_free = trainer in SHOT_FREE_TRAINERS
    backbone, preset = _text(meta.get("backbone")), _text(meta.get("preset")) or "default"
    method = Method(
        trainer=trainer,
        variant=_own_variant(_text(meta.get("variant")), backbone, preset),
        backbone=backbone,
        preset=preset,
        untrained=untrained and not shot_free,
        loss=loss_terms_name(loss_terms) if loss_terms is not None and loss_terms != ALL_TERMS else "",
    )
    source = dataset_key(meta.get("source_dataset")) if meta.get("source_dataset") else None
    stage = eval_set = None
    if protocol == "incremental":
        kind, stage, eval_set = "incremental", _int(meta.get("stage")), _incremental_set(meta)
        if stage is None or eval_set is None:
            kind = None
    elif protocol == "base2new":
        kind = "base2new"
        eval_set = (_text(meta.get("eval_set")) or subsample).lower()
        if eval_set not in ("base", "new"):
            kind = None
    elif protocol == "cross_dataset":
        kind, eval_set = "cross_dataset", dataset
    elif protocol == "dg" or dataset in DG_TARGET_NAMES:
        kind = "dg"
    elif protocol == "fewshot":
        kind = "fewshot" if shots is not None or shot_free else None
        if eval_only and not untrained and not shot_free:  # never averaged with the training runs
            method = replace(method, eval_only=True)
    else:
        kind = None
    if shot_free:
        shots = None
    return Entry(exp, kind, method, dataset, shots, stage, eval_set, subsample, loss_terms, label_init,
                 source, eval_only)


# --------------------------------------------------------------------------- statistics
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
    """Mean over datasets of the per-dataset means; std over seeds of the per-seed averages.

    ``expected`` lists the datasets the average should cover (None: those given); the result's
    ``coverage`` says how many had a value. Datasets outside ``expected`` are left out.
    """
    have = {d: s for d, s in by_dataset.items() if s is not None and s.mean is not None}
    names = list(expected) if expected is not None else sorted(have, key=_dataset_sort_key)
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


# --------------------------------------------------------------------------- published numbers
@dataclass(frozen=True)
class PaperValue:
    value: float
    table: str  # "Table 3", "Fig. 3", ...
    source: str
    note: str = ""


class PaperResults:
    """The published numbers of ``docs/paper_results.csv``, looked up by what a cell shows.

    Exact numbers from the paper's tables win over numbers read off the official figure.
    """

    def __init__(self, rows: Iterable[Dict[str, str]]):
        self._values: Dict[Tuple, PaperValue] = {}
        for row in rows:
            shots = row.get("shots", "").strip()
            key = (row["experiment"], row["trainer"], row.get("variant", ""), row["dataset"],
                   int(shots) if shots else None, row["metric"])
            value = PaperValue(float(row["value"]), row["table"], row["source"], row.get("note", ""))
            old = self._values.get(key)
            if old is None or (old.table.startswith("Fig") and not value.table.startswith("Fig")):
                self._values[key] = value

    @classmethod
    def load(cls, path=PAPER_RESULTS) -> "PaperResults":
        with open(path, newline="", encoding="utf-8") as f:
            return cls(csv.DictReader(f))

    def get(self, experiment: str, method: Method, dataset: str, shots: Optional[int],
            metric: str = "accuracy", variant: Optional[str] = None) -> Optional[PaperValue]:
        """The published number for a cell, or None. Only ViT-B/16 (or unknown) backbones match."""
        if method.backbone not in ("", "ViT-B/16") or method.untrained or method.eval_only:
            return None
        if variant is None:  # the paper's name of the variant: its loss terms, else the script's name
            variant = "woHL" if method.loss == "ce" else method.variant if method.variant in VARIANT_LABELS \
                else "" if not (method.variant or method.loss) else None
            if variant is None:
                return None
        for k in ((shots, None) if shots is not None else (None,)):
            hit = self._values.get((experiment, method.trainer, variant, dataset, k, metric))
            if hit is not None:
                return hit
        return None

    def trainers(self, experiment: str) -> List[str]:
        return sorted({key[1] for key in self._values if key[0] == experiment})

    def __len__(self):
        return len(self._values)


# --------------------------------------------------------------------------- tables
@dataclass
class Row:
    label: str
    cells: Dict[str, Optional[Stat]] = field(default_factory=dict)
    texts: Dict[str, str] = field(default_factory=dict)  # fixed text (check marks)
    paper: Dict[str, PaperValue] = field(default_factory=dict)


@dataclass
class Table:
    name: str
    title: str
    row_header: str
    columns: List[str]
    rows: List[Row]
    notes: List[str] = field(default_factory=list)
    paper_layout: str = "rows"  # published numbers as an extra row under each row, or column
    text_columns: Tuple[str, ...] = ()  # columns with fixed text (not numbers)


@dataclass
class Options:
    expected_datasets: Optional[Tuple[str, ...]] = PAPER_DATASETS  # None: the datasets found
    expected_seeds: Optional[Tuple[str, ...]] = None  # None: every seed seen in the table
    shots: Optional[Tuple[int, ...]] = None  # per-dataset / ablation tables (None: see each table)
    paper: Optional[PaperResults] = None


def classify(experiments: Iterable[ExperimentResult]) -> List[Entry]:
    return [describe(e) for e in experiments]


def _method_sort_key(m: Method):
    tr = TRAINER_ORDER.index(m.trainer) if m.trainer in TRAINER_ORDER else len(TRAINER_ORDER)
    var = 0 if m.loss == "ce" else 1 if (m.variant, m.loss) == ("", "") else 2
    return (tr, m.trainer, m.untrained, m.eval_only, m.preset != "default", m.preset, var, natural_key(m.loss),
            natural_key(m.variant), _backbone_sort_key(m.backbone))


def variant_label(m: Method) -> str:
    """How the paper names the variant: its loss terms for LAMM ablations, else the variant text."""
    if m.variant in VARIANT_LABELS:
        return f"({VARIANT_LABELS[m.variant]})"
    if m.loss == "ce":
        return f"({VARIANT_LABELS['woHL']})"
    if m.loss:
        return f"({m.loss.upper()})"
    return f"[{m.variant}]" if m.variant else ""


def method_labels(methods: Sequence[Method], show: Sequence[str] = ("variant", "backbone")) -> Dict[Method, str]:
    """Paper names ("CoOp+LAMM (w/o HL)"), what is not a default run said, the backbone where needed."""
    labels = {}
    for m in methods:
        name = TRAINER_LABELS.get(m.trainer, m.trainer)
        v = variant_label(m) if "variant" in show else ""
        if v:
            name += f" {v}"
        if m.preset != "default":
            name += f" [{m.preset} preset]"
        if m.untrained:
            name += " (untrained)"
        if m.eval_only:
            name += " (eval-only)"
        labels[m] = name
    if "backbone" in show:
        by_label: Dict[str, List[Method]] = {}
        for m in methods:
            by_label.setdefault(labels[m], []).append(m)
        for same in by_label.values():
            if len({m.backbone for m in same}) > 1:
                for m in same:
                    labels[m] += f" {m.backbone or '?'}"
    for m in methods:  # whatever else sets two rows apart (should not happen): keep them apart
        twins = [x for x in methods if labels[x] == labels[m]]
        if len(twins) > 1:
            for i, x in enumerate(twins):
                labels[x] += f" #{i + 1}"
    return labels


def _expected_seeds(entries: Iterable[Entry], opts: Options) -> Tuple[str, ...]:
    if opts.expected_seeds is not None:
        return tuple(opts.expected_seeds)
    seen = {r.seed_label for e in entries if not e.method.shot_free for r in e.exp.runs}
    return tuple(sorted(seen, key=natural_key))


def _expected_datasets(found: Iterable[str], opts: Options) -> Tuple[str, ...]:
    if opts.expected_datasets is None:
        return tuple(sorted(set(found), key=_dataset_sort_key))
    return tuple(opts.expected_datasets)


def _group(entries: Iterable[Entry], key) -> Dict[Any, List[Entry]]:
    out: Dict[Any, List[Entry]] = {}
    for e in entries:
        out.setdefault(key(e), []).append(e)
    return out


def _collect_notes(table: Table, limit: int = 30) -> None:
    """Explain the [k/N] and * marks under the table (cells missing the same datasets share a line)."""
    coverage: Dict[Tuple, List[str]] = {}
    seeds: List[str] = []
    for row in table.rows:
        for col in table.columns:
            stat = row.cells.get(col)
            if stat is None:
                continue
            if stat.incomplete:
                coverage.setdefault((stat.coverage, stat.missing), []).append(f"{row.label}, {col}")
            for f in stat.flags:
                if f not in seeds:
                    seeds.append(f)
    notes = []
    if coverage:
        notes.append("[k/N]: the average covers k of the N expected datasets.")
        for ((k, n), missing), where in coverage.items():
            cells = "; ".join(where) if len(where) <= 4 else f"{len(where)} cells"
            notes.append(f"{cells}: average over {k} of {n} datasets "
                         f"(missing: {', '.join(dataset_label(d) for d in missing)})")
    if seeds:
        notes.append("*: some seeds are absent or unfinished:")
        notes += ["  " + s for s in seeds[:limit]]
        if len(seeds) > limit:
            notes.append(f"  ... and {len(seeds) - limit} more")
    table.notes = notes + table.notes


# ---- few-shot grid (shared by the few-shot tables and the plot)
@dataclass
class FewShotGrid:
    """Per method: per (dataset, shots) stats and per-shots averages over datasets."""

    methods: List[Method]
    labels: Dict[Method, str]
    datasets: List[str]  # found, in the paper's order
    shots: List[int]  # found among trained methods
    expected: Tuple[str, ...]
    cells: Dict[Tuple[Method, str, Optional[int]], Stat]  # shot-free methods use shots None
    averages: Dict[Tuple[Method, Optional[int]], Stat]

    def cell(self, method: Method, dataset: str, shots: Optional[int]) -> Optional[Stat]:
        return self.cells.get((method, dataset, None if method.shot_free else shots))

    def average(self, method: Method, shots: Optional[int]) -> Optional[Stat]:
        return self.averages.get((method, None if method.shot_free else shots))


def sweep_backbones(entries: Sequence[Entry]) -> List[str]:
    """Backbones with the most shot counts among trained few-shot runs (the others are Fig. 4 runs)."""
    shots: Dict[str, set] = {}
    for e in entries:
        if e.kind == "fewshot" and not e.method.shot_free:
            shots.setdefault(e.method.backbone, set()).add(e.shots)
    if not shots:
        return sorted({e.method.backbone for e in entries if e.kind == "fewshot"}, key=_backbone_sort_key)
    most = max(len(v) for v in shots.values())
    return sorted((b for b, v in shots.items() if len(v) == most), key=_backbone_sort_key)


def fewshot_grid(entries: Sequence[Entry], opts: Options, include_ablations: bool = False) -> Optional[FewShotGrid]:
    """The few-shot runs of the main sweep: ablation-only variants and off-sweep backbones left out."""
    main = set(sweep_backbones(entries))
    chosen = [e for e in entries if e.kind == "fewshot" and (include_ablations or not e.ablation_only)
              and (e.method.backbone in main or (e.method.shot_free and (not main or e.method.backbone in main)))]
    if not chosen:
        return None
    seeds = _expected_seeds(chosen, opts)
    by_cell = _group(chosen, lambda e: (e.method, e.dataset, e.shots))
    cells = {k: stat_from_entries(v, seeds) for k, v in by_cell.items()}
    methods = sorted({e.method for e in chosen}, key=_method_sort_key)
    datasets = sorted({e.dataset for e in chosen}, key=_dataset_sort_key)
    shots = sorted({e.shots for e in chosen if e.shots is not None})
    expected = _expected_datasets(datasets, opts)
    averages = {}
    for m in methods:
        for k in ([None] if m.shot_free else shots):
            by_ds = {d: cells.get((m, d, k)) for d in datasets}
            avg = average_stat(by_ds, expected)
            if avg is not None:
                averages[(m, k)] = avg
    return FewShotGrid(methods, method_labels(methods), datasets, shots, expected, cells, averages)


def _out_of_average_note(datasets: Iterable[str], expected: Sequence[str]) -> List[str]:
    outside = [dataset_label(d) for d in datasets if d not in expected]
    return [f"Not in the averages (not among the expected datasets): {', '.join(outside)}."] if outside else []


def _paper_scope_note(opts: Options, expected: Sequence[str]) -> List[str]:
    """Say so when published averages (over the paper's 11 datasets) sit next to averages over others."""
    if opts.paper is None or set(expected) == set(PAPER_DATASETS):
        return []
    return [f"The paper's averages cover its 11 datasets; the averages here cover {len(expected)}: "
            f"{', '.join(dataset_label(d) for d in expected)}."]


def _other_backbones_note(entries: Sequence[Entry]) -> List[str]:
    main = sweep_backbones(entries)
    others = sorted({e.method.backbone for e in entries if e.kind == "fewshot"} - set(main), key=_backbone_sort_key)
    if not others:
        return []
    return [f"Backbone {', '.join(main) or '?'} only; runs on {', '.join(b or '?' for b in others)} "
            f"are in the backbone table."]


def table_fewshot(entries: Sequence[Entry], opts: Options) -> Optional[Table]:
    """Method x shots, mean over datasets: paper Table 3 and Fig. 3's "Average" panel."""
    grid = fewshot_grid(entries, opts)
    if grid is None:
        return None
    columns = [str(k) for k in grid.shots] or ["zero-shot"]
    rows = []
    for m in grid.methods:
        row = Row(grid.labels[m])
        for k, col in zip(grid.shots or [None], columns):
            row.cells[col] = grid.average(m, k)
            if opts.paper is not None:
                pv = opts.paper.get("fewshot", m, "average", k)
                if pv is not None:
                    row.paper[col] = pv
        rows.append(row)
    n = len(grid.expected)
    table = Table("fewshot", f"Few-shot accuracy (%) by number of shots, mean over {n} datasets "
                             f"(paper Table 3 / Fig. 3 'Average')", "method", columns, rows,
                  notes=_out_of_average_note(grid.datasets, grid.expected) + _other_backbones_note(entries)
                  + _paper_scope_note(opts, grid.expected))
    _collect_notes(table)
    return table


def _default_shots(grid_shots: Sequence[int], opts: Options) -> List[int]:
    if opts.shots:
        return list(opts.shots)
    return [max(grid_shots)] if grid_shots else []


def tables_datasets(entries: Sequence[Entry], opts: Options) -> List[Table]:
    """Dataset x method at one shot count (Fig. 3's per-dataset panels), with the average row."""
    grid = fewshot_grid(entries, opts)
    if grid is None:
        return []
    out = []
    shot_list = _default_shots(grid.shots, opts) if grid.shots else [None]
    for k in shot_list:
        methods = [m for m in grid.methods
                   if m.shot_free or any(grid.cell(m, d, k) is not None for d in grid.datasets)]
        if not any(not m.shot_free for m in methods) and k is not None:
            continue
        columns = [grid.labels[m] for m in methods]
        rows = []
        for d in grid.datasets:
            row = Row(dataset_label(d))
            for m, col in zip(methods, columns):
                row.cells[col] = grid.cell(m, d, k)
                if opts.paper is not None:
                    pv = opts.paper.get("fewshot", m, d, k)
                    if pv is not None:
                        row.paper[col] = pv
            rows.append(row)
        avg = Row("Average")
        for m, col in zip(methods, columns):
            avg.cells[col] = grid.average(m, k)
            if opts.paper is not None:
                pv = opts.paper.get("fewshot", m, "average", k)
                if pv is not None:
                    avg.paper[col] = pv
        rows.append(avg)
        shots_text = f"{k} shots" if k is not None else "zero-shot"
        table = Table(f"datasets_{k}shots" if k is not None else "datasets", f"Accuracy (%) per dataset at {shots_text} "
                      f"(paper Fig. 3 panels)", "dataset", columns, rows, paper_layout="columns",
                      notes=_out_of_average_note(grid.datasets, grid.expected) + _other_backbones_note(entries)
                      + _paper_scope_note(opts, grid.expected))
        _collect_notes(table)
        out.append(table)
    return out


def _one_shot_count(entries: Sequence[Entry], opts: Options) -> Optional[int]:
    """The ablation tables' shot count: the first --shots, else 16 when present, else the largest."""
    if opts.shots:
        return opts.shots[0]
    found = sorted({e.shots for e in entries if e.shots is not None})
    return 16 if 16 in found else (found[-1] if found else None)


def _family(m: Method) -> Method:
    """A method without its variant: the columns of the ablation tables."""
    return replace(m, variant="", loss="")


def table_hl(entries: Sequence[Entry], opts: Options) -> Optional[Table]:
    """Loss terms x LAMM trainer at one shot count, mean over datasets (paper Table 4)."""
    lamm = [e for e in entries if e.kind == "fewshot" and e.loss_terms is not None and e.label_init != "random"]
    if len({e.loss_terms for e in lamm}) < 2:
        return None
    k = _one_shot_count(lamm, opts)
    lamm = [e for e in lamm if e.shots == k]
    sets_per_family = _group(lamm, lambda e: _family(e.method))
    lamm = [e for e in lamm if len({x.loss_terms for x in sets_per_family[_family(e.method)]}) > 1]
    if not lamm:
        return None
    seeds = _expected_seeds(lamm, opts)
    found = sorted({e.dataset for e in lamm}, key=_dataset_sort_key)
    expected = _expected_datasets(found, opts)
    families = sorted({_family(e.method) for e in lamm}, key=_method_sort_key)
    labels = method_labels(families)
    sets = sorted({e.loss_terms for e in lamm},
                  key=lambda s: (HL_ROWS.index(loss_terms_name(s)) if loss_terms_name(s) in HL_ROWS else 99,
                                 loss_terms_name(s)))
    by = _group(lamm, lambda e: (_family(e.method), e.loss_terms, e.dataset))
    columns = [t.upper() for t in LOSS_TERMS] + [labels[f] for f in families]
    rows = []
    for s in sets:
        row = Row(loss_terms_name(s).upper(), texts={t.upper(): ("✓" if t in s else "") for t in LOSS_TERMS})
        for f in families:
            by_ds = {d: stat_from_entries(by.get((f, s, d), []), seeds) for d in found}
            row.cells[labels[f]] = average_stat(by_ds, expected)
            if opts.paper is not None:
                pv = opts.paper.get("hl", f, "average", k, variant=loss_terms_name(s))
                if pv is not None:
                    row.paper[labels[f]] = pv
        rows.append(row)
    table = Table("hl", f"Hierarchical-loss terms at {k} shots, mean over {len(expected)} datasets (paper Table 4)",
                  "loss", columns, rows, paper_layout="columns",
                  text_columns=tuple(t.upper() for t in LOSS_TERMS),
                  notes=_out_of_average_note(found, expected) + _paper_scope_note(opts, expected))
    _collect_notes(table)
    return table


def table_init(entries: Sequence[Entry], opts: Options) -> Optional[Table]:
    """Shots x (random, word) label initialisation, mean over datasets (paper Table 5)."""
    lamm = [e for e in entries if e.kind == "fewshot" and e.label_init is not None]
    random_fams = {_family(e.method) for e in lamm if e.label_init == "random"}
    if not random_fams:
        return None
    lamm = [e for e in lamm if _family(e.method) in random_fams
            and (e.label_init == "random" or (e.method.variant == "" and e.loss_terms == ALL_TERMS))]
    seeds = _expected_seeds(lamm, opts)
    found = sorted({e.dataset for e in lamm}, key=_dataset_sort_key)
    expected = _expected_datasets(found, opts)
    families = sorted(random_fams, key=_method_sort_key)
    labels = method_labels(families)
    shots = list(opts.shots) if opts.shots else sorted({e.shots for e in lamm if e.shots is not None})
    by = _group(lamm, lambda e: (_family(e.method), e.label_init, e.shots, e.dataset))
    columns, col_keys = [], []
    for f in families:
        for init, name in (("random", "random"), ("word", "words")):
            col = f"{labels[f]}: {name}" if len(families) > 1 else name
            columns.append(col)
            col_keys.append((f, init, col))
    rows = []
    for k in shots:
        row = Row(f"{k}-shot")
        for f, init, col in col_keys:
            by_ds = {d: stat_from_entries(by.get((f, init, k, d), []), seeds) for d in found}
            row.cells[col] = average_stat(by_ds, expected)
            if opts.paper is not None:
                pv = opts.paper.get("init", f, "average", k, variant="random_init" if init == "random" else "")
                if pv is not None:
                    row.paper[col] = pv
        rows.append(row)
    title = "Label initialisation: random vs category words, mean over "
    title += f"{len(expected)} datasets (paper Table 5)"
    if len(families) == 1:
        title += f", {labels[families[0]]}"
    table = Table("init", title, "shots", columns, rows, paper_layout="columns",
                  notes=_out_of_average_note(found, expected) + _paper_scope_note(opts, expected))
    _collect_notes(table)
    return table


def table_backbones(entries: Sequence[Entry], opts: Options) -> Optional[Table]:
    """Method x vision backbone at one shot count, mean over datasets (paper Fig. 4)."""
    chosen = [e for e in entries if e.kind == "fewshot" and not e.ablation_only]
    if len({e.method.backbone for e in chosen}) < 2:
        return None
    k = _one_shot_count([e for e in chosen if e.method.backbone not in sweep_backbones(entries)] or chosen, opts)
    chosen = [e for e in chosen if e.shots == k or e.method.shot_free]

    def row_key(m: Method) -> Method:
        return replace(m, backbone="")

    seeds = _expected_seeds(chosen, opts)
    found = sorted({e.dataset for e in chosen}, key=_dataset_sort_key)
    expected = _expected_datasets(found, opts)
    per_row = _group(chosen, lambda e: row_key(e.method))
    keys = sorted((rk for rk, es in per_row.items() if len({e.method.backbone for e in es}) > 1),
                  key=_method_sort_key)
    if not keys:
        return None
    labels = method_labels(keys)
    by = _group(chosen, lambda e: (row_key(e.method), e.method.backbone, e.dataset))
    backbones = sorted({e.method.backbone for rk in keys for e in per_row[rk]}, key=_backbone_sort_key)
    rows = []
    for rk in keys:
        row = Row(labels[rk])
        for bb in backbones:
            by_ds = {d: stat_from_entries(by.get((rk, bb, d), []), seeds) for d in found}
            row.cells[bb or "?"] = average_stat(by_ds, expected)
        rows.append(row)
    table = Table("backbones", f"Accuracy (%) by vision backbone at {k} shots, mean over {len(expected)} datasets "
                               f"(paper Fig. 4)", "method", [bb or "?" for bb in backbones], rows,
                  notes=_out_of_average_note(found, expected)
                  + (["Fig. 4 is published as a picture only: no paper numbers."] if opts.paper else []))
    _collect_notes(table)
    return table


def table_incremental(entries: Sequence[Entry], opts: Options) -> Optional[Table]:
    """Class-incremental learning (paper Table 2): Set 1 / Set 2 after stage 2, degradation."""
    inc = [e for e in entries if e.kind == "incremental"]
    if not inc:
        return None
    seeds = _expected_seeds(inc, opts)

    def key(e: Entry):
        return (e.method, e.shots)

    found = sorted({e.dataset for e in inc}, key=_dataset_sort_key)
    expected = _expected_datasets(found, opts)
    methods = sorted({key(e) for e in inc}, key=lambda mk: (_method_sort_key(mk[0]), mk[1] or 0))
    labels = method_labels([m for m, _ in methods])
    multi_shots = len({k for _, k in methods if k is not None}) > 1
    columns = [dataset_label(d) for d in found] + ["Average"]
    rows = []
    for mk in methods:
        m, k = mk
        name = labels[m] + (f" {k}-shot" if multi_shots and k is not None else "")
        mine = [e for e in inc if key(e) == mk]

        def stats(stage: int, eval_set: int) -> Dict[str, Optional[Stat]]:
            out = {}
            for d in found:
                es = [e for e in mine if e.dataset == d and e.eval_set == eval_set]
                same_stage = [e for e in es if e.stage == stage]
                # Zero-shot CLIP does not train: a Set 1 / Set 2 number of either stage will do.
                out[d] = stat_from_entries(same_stage or (es[:1] if m.shot_free else []), seeds)
            return out

        set1, set2, before = stats(2, 1), stats(2, 2), stats(1, 1)
        degr = {d: difference_stat(set1[d], before[d]) for d in found}
        shown = [("Set1", set1, "set1"), ("Set2", set2, "set2"),
                 ("Set1, stage 1", before, "set1_stage1"), ("Degradation", degr, "degradation")]
        if not m.shot_free:  # measured by scripts/incremental.sh, not in the paper: shown when present
            for label, stage, eval_set in (("Set2, stage 1", 1, 2), ("Set1+2, stage 2", 2, 0)):
                extra = stats(stage, eval_set)
                if any(v is not None for v in extra.values()):
                    shown.append((label, extra, None))
        for label, by_ds, metric in shown:
            row = Row(f"{name}: {label}")
            for d in found:
                row.cells[dataset_label(d)] = by_ds[d]
            row.cells["Average"] = average_stat(by_ds, expected)
            if opts.paper is not None and metric is not None:
                for d in list(found) + ["average"]:
                    pv = opts.paper.get("incremental", m, d, k, metric)
                    if pv is not None:
                        row.paper["Average" if d == "average" else dataset_label(d)] = pv
            rows.append(row)
    table = Table("incremental", "Class-incremental learning: accuracy (%) on Set 1 (base classes) and Set 2 "
                                 "(new classes) after training on Set 1 then Set 2 (paper Table 2)",
                  "method: subset", columns, rows,
                  notes=["Degradation = Set1 after stage 2 − Set1 after stage 1 (per seed, then mean ± std)."
                         + (" Set1+2, stage 2: the stage-2 run tested on all classes." if any(
                             e.eval_set == 0 for e in inc) else "")]
                  + _out_of_average_note(found, expected) + _paper_scope_note(opts, expected))
    _collect_notes(table)
    return table


def _dg_key(m: Method, shots: Optional[int]):
    return (replace(m, eval_only=False), shots)


def _sources(entries: Sequence[Entry], kind: str, source: str, mk) -> List[Entry]:
    """The training runs of an evaluation protocol on ``source``: its own, else the few-shot ones."""
    own = [e for e in entries if e.kind == kind and e.dataset == source and not e.eval_only
           and _dg_key(e.method, e.shots) == mk]
    return own or [e for e in entries if e.kind == "fewshot" and e.dataset == source
                   and _dg_key(e.method, e.shots) == mk]


def table_dg(entries: Sequence[Entry], opts: Options) -> Optional[Table]:
    """ImageNet -> ImageNetV2/Sketch/A/R with the same checkpoint (paper Table 1)."""
    targets = [e for e in entries if e.kind == "dg" and e.dataset != DG_SOURCE]
    if not targets:
        return None
    seeds = _expected_seeds(targets, opts)
    keys = sorted({_dg_key(e.method, e.shots) for e in targets}, key=lambda mk: (_method_sort_key(mk[0]), mk[1] or 0))
    labels = method_labels([m for m, _ in keys])
    multi_shots = len({k for _, k in keys if k is not None}) > 1
    found_targets = [d for d in DG_TARGET_NAMES if any(e.dataset == d for e in targets)]
    found_targets += sorted({e.dataset for e in targets} - set(DG_TARGET_NAMES))
    avg_t, avg_p = "Avg targets", "Avg (ImageNet, -V2, -Sketch)"
    columns = [dataset_label(DG_SOURCE)] + [dataset_label(d) for d in found_targets] + [avg_t, avg_p]
    rows, notes = [], []
    for mk in keys:
        m, k = mk
        name = labels[m] + (f" {k}-shot" if multi_shots and k is not None else "")
        row = Row(name)
        by_ds = {DG_SOURCE: stat_from_entries(_sources(entries, "dg", DG_SOURCE, mk), seeds)}
        if by_ds[DG_SOURCE] is None and not m.untrained:
            what = "evaluation" if m.shot_free else "training run"
            notes.append(f"{name}: no {DG_SOURCE} {what} with the same method, variant and shots")
        for d in found_targets:
            by_ds[d] = stat_from_entries([e for e in targets if _dg_key(e.method, e.shots) == mk and e.dataset == d],
                                         seeds)
        for d, stat in by_ds.items():
            row.cells[dataset_label(d)] = stat
        row.cells[avg_t] = average_stat({d: by_ds.get(d) for d in DG_TARGET_NAMES}, DG_TARGET_NAMES)
        row.cells[avg_p] = average_stat({d: by_ds.get(d) for d in (DG_SOURCE, "ImageNetV2", "ImageNetSketch")},
                                        (DG_SOURCE, "ImageNetV2", "ImageNetSketch"))
        if opts.paper is not None:
            for d in (DG_SOURCE,) + DG_TARGET_NAMES:
                pv = opts.paper.get("dg", m, d, k)
                if pv is not None:
                    row.paper[dataset_label(d)] = pv
            pv = opts.paper.get("dg", m, "average", k)
            if pv is not None:
                row.paper[avg_p] = pv
        rows.append(row)
    table = Table("dg", "Domain generalisation: trained on ImageNet, tested on its variants, accuracy (%) "
                        "(paper Table 1)", "method", columns, rows,
                  notes=[f"{avg_t}: mean over -V2, -Sketch, -A, -R; {avg_p}: as the paper's 'Average' "
                         "(source included)."] + notes)
    _collect_notes(table)
    return table


def _paper_only_rows(opts: Options, experiment: str, shown: Iterable[str], dataset: str, metrics, columns,
                     prefix: str = "") -> List[Row]:
    """Rows of published numbers for methods not run here (e.g. CoCoOp), under their paper name."""
    if opts.paper is None:
        return []
    rows = []
    for trainer in opts.paper.trainers(experiment):
        if trainer in shown:
            continue
        m = Method(trainer)
        row = Row(prefix + TRAINER_LABELS.get(trainer, trainer))
        for metric, col in zip(metrics, columns):
            pv = opts.paper.get(experiment, m, dataset, 16 if not m.shot_free else None, metric)
            if pv is not None:
                row.paper[col] = pv
        if row.paper:
            rows.append(row)
    return sorted(rows, key=lambda r: r.label)


def table_base2new(entries: Sequence[Entry], opts: Options) -> Optional[Table]:
    """Base-to-new generalisation (CoCoOp's protocol): base, new, HM per dataset and on average.

    HM is the harmonic mean of the base and new means, as CoCoOp and MaPLe compute it (for the
    average: of the average base and the average new accuracy). Base accuracy comes from
    evaluations with ``eval_set`` base when there are any, else from the training run (tested on
    the base classes it was trained on); new accuracy from the evaluations with ``eval_set`` new.
    """
    b2n = [e for e in entries if e.kind == "base2new"]
    if not b2n:
        return None
    seeds = _expected_seeds(b2n, opts)
    found = sorted({e.dataset for e in b2n}, key=_dataset_sort_key)
    expected = _expected_datasets(found, opts)
    keys = sorted({_dg_key(e.method, e.shots) for e in b2n}, key=lambda mk: (_method_sort_key(mk[0]), mk[1] or 0))
    labels = method_labels([m for m, _ in keys])
    multi_shots = len({k for _, k in keys if k is not None}) > 1

    def split_stat(mk, d, split):
        es = [e for e in b2n if _dg_key(e.method, e.shots) == mk and e.dataset == d and e.eval_set == split]
        evals = [e for e in es if e.eval_only]
        stat = stat_from_entries(evals or es, seeds)
        if stat is not None and evals:  # the training run's own test is the same number: it is used, too
            stat = replace(stat, sources=stat.sources + tuple(e.exp.experiment for e in es if not e.eval_only))
        return stat

    columns = ["Base", "New", "HM"]
    average_rows, dataset_rows = [], {d: [] for d in found}
    for mk in keys:
        m, k = mk
        name = labels[m] + (f" {k}-shot" if multi_shots and k is not None else "")
        by_split = {}
        for split, col in (("base", "Base"), ("new", "New")):
            by_split[col] = {d: split_stat(mk, d, split) for d in found}
        for d in found:
            row = Row(f"{dataset_label(d)}: {name}")
            row.cells["Base"], row.cells["New"] = by_split["Base"][d], by_split["New"][d]
            row.cells["HM"] = harmonic_mean_stat(row.cells["Base"], row.cells["New"])
            dataset_rows[d].append(row)
        row = Row(name)
        row.cells["Base"] = average_stat(by_split["Base"], expected)
        row.cells["New"] = average_stat(by_split["New"], expected)
        row.cells["HM"] = harmonic_mean_stat(row.cells["Base"], row.cells["New"])
        if opts.paper is not None:
            for metric, col in (("base", "Base"), ("new", "New"), ("hm", "HM")):
                pv = opts.paper.get("base2new", m, "average", k, metric)
                if pv is not None:
                    row.paper[col] = pv
        average_rows.append(row)
    shown = {m.trainer for m, _ in keys if (m.variant, m.loss, m.preset, m.untrained) == ("", "", "default", False)}
    average_rows += _paper_only_rows(opts, "base2new", shown, "average", ("base", "new", "hm"), columns)
    rows = average_rows + [r for d in found for r in dataset_rows[d]]
    table = Table("base2new", f"Base-to-new generalisation at 16 shots, accuracy (%): rows without a dataset are "
                              f"the mean over {len(expected)} datasets (MaPLe Table 1)", "dataset: method",
                  columns, rows,
                  notes=["HM: harmonic mean of the Base and New means (of the average Base and New on average rows)."]
                  + _out_of_average_note(found, expected) + _paper_scope_note(opts, expected))
    _collect_notes(table)
    return table


def table_cross(entries: Sequence[Entry], opts: Options) -> Optional[Table]:
    """Cross-dataset transfer: trained on the source (ImageNet), evaluated on every other dataset."""
    # Zero-shot CLIP's evaluations name no source (nothing was trained): ImageNet's column is its own.
    targets = [replace(e, source_dataset=e.source_dataset or DG_SOURCE) for e in entries
               if e.kind == "cross_dataset" and e.eval_only and (e.source_dataset or e.method.shot_free)]
    targets = [e for e in targets if e.dataset != e.source_dataset]
    if not targets:
        return None
    seeds = _expected_seeds(targets, opts)
    keys = sorted({(_dg_key(e.method, e.shots), e.source_dataset) for e in targets},
                  key=lambda x: (_method_sort_key(x[0][0]), x[0][1] or 0, _dataset_sort_key(x[1])))
    labels = method_labels(sorted({mk[0] for mk, _ in keys}, key=_method_sort_key))
    sources = sorted({src for _, src in keys}, key=_dataset_sort_key)
    found = sorted({e.dataset for e in targets}, key=_dataset_sort_key)
    if opts.expected_datasets is None:
        expected = tuple(found)
    else:
        expected = tuple(d for d in opts.expected_datasets if d not in sources)
    columns = ["Source"] + [dataset_label(d) for d in found] + ["Average"]
    rows, notes = [], []
    for mk, src in keys:
        m, k = mk
        name = labels[m] + (f" ({dataset_label(src)} →)" if len(sources) > 1 else "")
        row = Row(name)
        row.cells["Source"] = stat_from_entries(_sources(entries, "cross_dataset", src, mk), seeds)
        if row.cells["Source"] is None and not m.untrained:
            what = "evaluation" if m.shot_free else "training run"
            notes.append(f"{name}: no {src} {what} with the same method, variant and shots")
        by_ds = {d: stat_from_entries([e for e in targets if _dg_key(e.method, e.shots) == mk and e.dataset == d
                                       and e.source_dataset == src], seeds) for d in found}
        for d in found:
            row.cells[dataset_label(d)] = by_ds[d]
        row.cells["Average"] = average_stat(by_ds, expected)
        rows.append(row)
    table = Table("cross", f"Cross-dataset transfer: trained on {', '.join(dataset_label(s) for s in sources)}, "
                           f"tested on other datasets, accuracy (%) (MaPLe Table 2)", "method", columns, rows,
                  notes=[f"Average: mean over the {len(expected)} target datasets (the source left out)."] + notes
                  + _out_of_average_note(found, expected))
    _collect_notes(table)
    return table


PAPER_TABLES = ("fewshot", "datasets", "hl", "init", "backbones", "incremental", "dg", "base2new", "cross")
TABLE_NAMES = PAPER_TABLES + ("runs",)


def build_tables(experiments: Sequence[ExperimentResult], names: Sequence[str] = PAPER_TABLES,
                 opts: Optional[Options] = None) -> List[Table]:
    """Every requested table that the experiments give data for, in ``PAPER_TABLES`` order."""
    opts = opts or Options()
    entries = classify(experiments)
    builders = {
        "fewshot": lambda: [table_fewshot(entries, opts)],
        "datasets": lambda: tables_datasets(entries, opts),
        "hl": lambda: [table_hl(entries, opts)],
        "init": lambda: [table_init(entries, opts)],
        "backbones": lambda: [table_backbones(entries, opts)],
        "incremental": lambda: [table_incremental(entries, opts)],
        "dg": lambda: [table_dg(entries, opts)],
        "base2new": lambda: [table_base2new(entries, opts)],
        "cross": lambda: [table_cross(entries, opts)],
    }
    out = []
    for name in PAPER_TABLES:
        if name in names:
            out += [t for t in builders[name]() if t is not None]
    return out


def used_experiments(tables: Iterable[Table]) -> set:
    """Experiment folders whose numbers appear in the tables."""
    used = set()
    for t in tables:
        for row in t.rows:
            for stat in row.cells.values():
                if stat is not None:
                    used.update(stat.sources)
    return used


# --------------------------------------------------------------------------- rendering
def cell_text(stat: Optional[Stat], ci95: bool = False) -> str:
    """``81.13 ± 0.21``; one seed: ``81.13``; ``[k/N]`` for an incomplete average, ``*`` for seed problems."""
    if stat is None or stat.mean is None:
        return "-"
    text = f"{stat.mean:.2f}"
    spread = stat.ci95 if ci95 else stat.std
    if stat.n > 1 and spread is not None:
        text += f" ± {spread:.2f}"
    if stat.incomplete:
        text += f" [{stat.coverage[0]}/{stat.coverage[1]}]"
    if stat.flags:
        text += " *"
    return text


def _paper_text(pv: Optional[PaperValue]) -> str:
    if pv is None:
        return ""
    return f"{pv.value:.2f}" + (" (F)" if pv.table.startswith("Fig") else "")


def _paper_sources(table: Table) -> List[str]:
    seen = {}
    for row in table.rows:
        for pv in row.paper.values():
            seen.setdefault(pv.table, pv.source)
    lines = [f"paper ({t}): {s}" for t, s in sorted(seen.items())]
    if any(t.startswith("Fig") for t in seen):
        lines.append("(F): read off the official figure, ±0.3; exact table numbers are used where the paper has them.")
    return lines


def table_grid(table: Table, paper: bool = False, ci95: bool = False) -> Tuple[List[str], List[List[str]]]:
    """Header and body rows as text, with the published numbers as extra rows or columns."""
    with_paper = paper and any(row.paper for row in table.rows)
    columns = list(table.columns)
    if with_paper and table.paper_layout == "columns":
        headers = [table.row_header]
        for col in columns:
            headers.append(col)
            if any(col in row.paper for row in table.rows):
                headers.append(f"{col} (paper)")
    else:
        headers = [table.row_header] + columns
    body = []
    for row in table.rows:
        if not row.cells and not row.texts:  # published numbers of a method not run here
            if with_paper and table.paper_layout == "rows":
                body.append([f"{row.label} (paper)"] + [_paper_text(row.paper.get(col)) for col in columns])
            continue
        line = [row.label]
        for col in columns:
            line.append(row.texts[col] if col in table.text_columns else cell_text(row.cells.get(col), ci95))
            if with_paper and table.paper_layout == "columns" and f"{col} (paper)" in headers:
                line.append(_paper_text(row.paper.get(col)))
        body.append(line)
        if with_paper and table.paper_layout == "rows" and row.paper:
            body.append([f"{row.label} (paper)"] + [
                row.texts.get(col, "") if col in table.text_columns else (_paper_text(row.paper.get(col)) or "")
                for col in columns])
    return headers, body


def render_text(tables: Sequence[Table], fmt: str = "table", paper: bool = False, ci95: bool = False) -> str:
    """table (GitHub-style) or markdown (pipe tables under ``###`` titles), with notes."""
    chunks = []
    for table in tables:
        headers, body = table_grid(table, paper, ci95)
        title = f"### {table.title}" if fmt == "markdown" else table.title
        colalign = ["left"] + ["center" if h in table.text_columns else "right" for h in headers[1:]]
        text = tabulate(body, headers=headers, tablefmt="pipe" if fmt == "markdown" else "github",
                        disable_numparse=True, colalign=colalign)
        notes = list(table.notes) + (_paper_sources(table) if paper else [])
        if ci95:
            notes.append("± is the 95% confidence interval over seeds (1.96·std/√n).")
        note_text = "\n".join(notes)
        if fmt == "markdown" and notes:
            note_text = "\n".join(f"- {n}" if not n.startswith("  ") else f"  - {n.strip()}" for n in notes)
        chunks.append("\n\n".join(x for x in (title, text, note_text) if x))
    return "\n\n".join(chunks)


def _stat_dict(stat: Optional[Stat]) -> Optional[Dict[str, Any]]:
    if stat is None:
        return None
    return {
        "mean": stat.mean, "std": stat.std, "ci95": stat.ci95, "n": stat.n, "seeds": stat.seeds,
        "per_seed": {s: stat.per_seed[s] for s in stat.seeds},
        "datasets": list(stat.parts) if stat.coverage else None,
        "coverage": list(stat.coverage) if stat.coverage else None,
        "missing_datasets": list(stat.missing), "flags": list(stat.flags),
    }


def _paper_dict(pv: Optional[PaperValue]) -> Optional[Dict[str, Any]]:
    return None if pv is None else {"value": pv.value, "table": pv.table, "source": pv.source, "note": pv.note}


def table_to_dict(table: Table, paper: bool = False) -> Dict[str, Any]:
    rows = []
    for row in table.rows:
        cells = {}
        for col in table.columns:
            if col in table.text_columns:
                cells[col] = row.texts.get(col, "")
                continue
            cell = _stat_dict(row.cells.get(col)) or {"mean": None}
            if paper:
                cell["paper"] = _paper_dict(row.paper.get(col))
            cells[col] = cell
        rows.append({"label": row.label, "cells": cells})
    return {"table": table.name, "title": table.title, "row_header": table.row_header,
            "columns": table.columns, "rows": rows, "notes": table.notes}


CSV_FIELDS = ["table", "row", "column", "mean", "std", "ci95", "n", "seeds", "datasets", "missing_datasets",
              "flags", "paper", "paper_source"]


def _csv_num(x) -> str:
    return "" if x is None else repr(x)


def csv_rows(table: Table, paper: bool = False) -> List[Dict[str, str]]:
    """One line per cell (tidy), for spreadsheets and pivot tables."""
    out = []
    for row in table.rows:
        for col in table.columns:
            if col in table.text_columns:
                continue
            stat = row.cells.get(col)
            pv = row.paper.get(col) if paper else None
            if stat is None and pv is None:
                continue
            out.append({
                "table": table.name, "row": row.label, "column": col,
                "mean": _csv_num(stat.mean if stat else None), "std": _csv_num(stat.std if stat else None),
                "ci95": _csv_num(stat.ci95 if stat else None), "n": str(stat.n) if stat else "0",
                "seeds": " ".join(stat.seeds) if stat else "",
                "datasets": f"{stat.coverage[0]}/{stat.coverage[1]}" if stat and stat.coverage else "",
                "missing_datasets": " ".join(stat.missing) if stat else "",
                "flags": "; ".join(stat.flags) if stat else "",
                "paper": _csv_num(pv.value if pv else None),
                "paper_source": f"{pv.table}: {pv.source}" if pv else "",
            })
    return out


def runs_table_rows(experiments: Sequence[ExperimentResult]) -> List[Dict[str, str]]:
    """The per-experiment list in the same tidy CSV shape (table = runs)."""
    return [{
        "table": "runs", "row": e.experiment, "column": e.keyword, "mean": _csv_num(e.mean),
        "std": _csv_num(e.std), "ci95": _csv_num(e.ci95), "n": str(e.n), "seeds": " ".join(e.seeds),
        "datasets": "", "missing_datasets": "", "flags": "; ".join(e.flags), "paper": "", "paper_source": "",
    } for e in experiments]


def render_machine(tables: Sequence[Table], fmt: str, paper: bool = False,
                   runs: Optional[Sequence[ExperimentResult]] = None) -> str:
    """json: a list of tables (the runs table holds experiment records); csv: one line per cell."""
    if fmt == "json":
        out = [table_to_dict(t, paper) for t in tables]
        if runs is not None:
            out.append({"table": "runs", "title": "All experiments",
                        "rows": [experiment_to_dict(e) for e in runs]})
        return json.dumps(out, indent=2, ensure_ascii=False)
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=CSV_FIELDS, lineterminator="\n")
    writer.writeheader()
    for t in tables:
        writer.writerows(csv_rows(t, paper))
    if runs is not None:
        writer.writerows(runs_table_rows(runs))
    return buf.getvalue().rstrip("\n")

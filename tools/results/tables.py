"""Tables shaped like the LAMM paper's (Gao et al., AAAI 2024), built from classified experiments."""
from dataclasses import dataclass, field, replace
from typing import Any, Callable, Dict, Iterable, List, Optional, Sequence, Tuple

from tools.results.classify import (
    ALL_TERMS,
    DG_SOURCE,
    DG_TARGET_NAMES,
    HL_ROWS,
    LOSS_TERMS,
    PAPER_DATASETS,
    TRAINER_LABELS,
    Entry,
    Method,
    backbone_sort_key,
    classify,
    dataset_label,
    dataset_sort_key,
    loss_terms_name,
    method_labels,
    method_sort_key,
)
from tools.results.collect import ExperimentResult, natural_key
from tools.results.paper import PaperResults, PaperValue
from tools.results.stats import Stat, average_stat, difference_stat, harmonic_mean_stat, stat_from_entries


@dataclass
class Row:
    label: str
    cells: Dict[str, Optional[Stat]] = field(default_factory=dict)
    texts: Dict[str, str] = field(default_factory=dict)  # fixed text (check marks)
    paper: Dict[str, PaperValue] = field(default_factory=dict)

    def publish(self, column: str, value: Optional[PaperValue]) -> None:
        """Show the published number beside the cell, if there is one."""
        if value is not None:
            self.paper[column] = value


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

    def published(self, *key, **kw) -> Optional[PaperValue]:
        """``PaperResults.get``, or None without --paper."""
        return self.paper.get(*key, **kw) if self.paper is not None else None


def _scope(runs: Sequence[Entry], opts: Options):
    """The seeds every cell should have, the datasets found, and those every average should cover."""
    found = sorted({e.dataset for e in runs}, key=dataset_sort_key)
    return expected_seeds(runs, opts), found, expected_datasets(found, opts)


def _method_names(keys: Iterable[Tuple[Method, Optional[int]]]) -> Dict[Tuple[Method, Optional[int]], str]:
    """Rows of (method, shots) in the paper's order, named as the paper does; the shots said when they differ."""
    keys = sorted(keys, key=lambda mk: (method_sort_key(mk[0]), mk[1] or 0))
    labels = method_labels([m for m, _ in keys])
    several = len({k for _, k in keys if k is not None}) > 1
    return {(m, k): labels[m] + (f" {k}-shot" if several and k is not None else "") for m, k in keys}


def expected_seeds(entries: Iterable[Entry], opts: Options) -> Tuple[str, ...]:
    if opts.expected_seeds is not None:
        return tuple(opts.expected_seeds)
    seen = {r.seed_label for e in entries if not e.method.shot_free for r in e.exp.runs}
    return tuple(sorted(seen, key=natural_key))


def expected_datasets(found: Iterable[str], opts: Options) -> Tuple[str, ...]:
    if opts.expected_datasets is None:
        return tuple(sorted(set(found), key=dataset_sort_key))
    return tuple(opts.expected_datasets)


def group_by(entries: Iterable[Entry], key) -> Dict[Any, List[Entry]]:
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
    others = sorted({e.method.backbone for e in entries if e.kind == "fewshot"} - set(main), key=backbone_sort_key)
    if not others:
        return []
    return [f"Backbone {', '.join(main) or '?'} only; runs on {', '.join(b or '?' for b in others)} "
            f"are in the backbone table."]


@dataclass(frozen=True)
class TableSpec:
    """A grid-shaped table: what its runs are, what a row and a column are, and its published numbers."""

    name: str
    title: Callable[[Optional[int], int, List[Entry]], str]  # (k, datasets averaged, runs)
    row_header: str
    select: Callable[..., Optional[Tuple[List[Entry], Optional[int]]]]
    key: Callable[[Entry], Tuple[Any, Any]]
    columns: Callable[[List[Entry], Optional[int]], Dict[Any, str]]
    rows: Optional[Callable[[List[Entry], Options], Dict[Any, str]]] = None
    cell_key: Callable[[Any, Any, Optional[int]], Tuple[Any, Any]] = lambda row, column, k: (row, column)
    paper: Optional[Callable[..., Optional[PaperValue]]] = None
    texts: Callable[[Any], Dict[str, str]] = lambda row: {}
    text_columns: Tuple[str, ...] = ()
    paper_layout: str = "rows"
    notes: Callable[[Sequence[Entry], Options, Sequence[str]], List[str]] = \
        lambda entries, opts, expected: _paper_scope_note(opts, expected)


def build(spec: TableSpec, entries: Sequence[Entry], opts: Options, k: Optional[int] = None) -> Optional[Table]:
    """One grid table: seeds, datasets, grouping, cells, averages, published numbers and notes."""
    picked = spec.select(entries, opts, k)
    if picked is None:
        return None
    runs, k = picked
    columns = spec.columns(runs, k)
    rows = spec.rows(runs, opts) if spec.rows is not None else None
    if not columns or rows == {}:
        return None
    seeds, found, expected = _scope(runs, opts)
    by = group_by(runs, lambda e: (*spec.key(e), e.dataset))

    def stat(row, column, dataset):
        return stat_from_entries(by.get((*spec.cell_key(row, column, k), dataset), []), seeds)

    def fill(row: Row, key, dataset, cell):
        for column, label in columns.items():
            row.cells[label] = cell(column)
            row.publish(label, spec.paper(opts.paper, key, column, k, dataset) if opts.paper and spec.paper else None)
        return row

    def average(key):
        return lambda column: average_stat({d: stat(key, column, d) for d in found}, expected)

    if rows is None:  # datasets down the side, then their average
        table_rows = [fill(Row(dataset_label(d)), None, d, lambda column, d=d: stat(None, column, d)) for d in found]
        table_rows.append(fill(Row("Average"), None, "average", average(None)))
    else:
        table_rows = [fill(Row(label, texts=spec.texts(key)), key, "average", average(key))
                      for key, label in rows.items()]
    table = Table(spec.name.format(shots=f"_{k}shots" if k is not None else ""), spec.title(k, len(expected), runs), spec.row_header,
                  list(spec.text_columns) + list(columns.values()), table_rows, paper_layout=spec.paper_layout,
                  text_columns=spec.text_columns,
                  notes=_out_of_average_note(found, expected) + spec.notes(entries, opts, expected))
    _collect_notes(table)
    return table


def sweep_backbones(entries: Sequence[Entry]) -> List[str]:
    """Backbones with the most shot counts among trained few-shot runs (the others are Fig. 4 runs)."""
    shots: Dict[str, set] = {}
    for e in entries:
        if e.kind == "fewshot" and not e.method.shot_free:
            shots.setdefault(e.method.backbone, set()).add(e.shots)
    if not shots:
        return sorted({e.method.backbone for e in entries if e.kind == "fewshot"}, key=backbone_sort_key)
    most = max(len(v) for v in shots.values())
    return sorted((b for b, v in shots.items() if len(v) == most), key=backbone_sort_key)


def fewshot_runs(entries: Sequence[Entry], include_ablations: bool = False) -> List[Entry]:
    """The few-shot runs of the main sweep: ablation-only variants and off-sweep backbones left out."""
    main = set(sweep_backbones(entries))
    return [e for e in entries if e.kind == "fewshot" and (include_ablations or not e.ablation_only)
            and (e.method.backbone in main or (e.method.shot_free and (not main or e.method.backbone in main)))]


def _sweep_shots(runs: Sequence[Entry]) -> List[int]:
    return sorted({e.shots for e in runs if e.shots is not None})


def _methods(runs: Sequence[Entry], keep=lambda m: True) -> Dict[Method, str]:
    """The methods of the runs in the paper's order, labelled among all of them, those ``keep`` says."""
    labels = method_labels(sorted({e.method for e in runs}, key=method_sort_key))
    return {m: label for m, label in labels.items() if keep(m)}


def _one_shot_count(entries: Sequence[Entry], opts: Options) -> Optional[int]:
    """The ablation tables' shot count: the first --shots, else 16 when present, else the largest."""
    if opts.shots:
        return opts.shots[0]
    found = sorted({e.shots for e in entries if e.shots is not None})
    return 16 if 16 in found else (found[-1] if found else None)


def _family(m: Method) -> Method:
    """A method without its variant: the columns of the ablation tables."""
    return replace(m, variant="", loss="")


def _fewshot_notes(entries, opts, expected):
    return _other_backbones_note(entries) + _paper_scope_note(opts, expected)


FEWSHOT = TableSpec(
    "fewshot", lambda k, n, runs: f"Few-shot accuracy (%) by number of shots, mean over {n} datasets "
                                  f"(paper Table 3 / Fig. 3 'Average')", "method",
    select=lambda entries, opts, k: (fewshot_runs(entries), None) if fewshot_runs(entries) else None,
    key=lambda e: (e.method, e.shots),
    rows=lambda runs, opts: _methods(runs), columns=lambda runs, k: {s: str(s) for s in _sweep_shots(runs)} or {None: "zero-shot"},
    cell_key=lambda m, shots, k: (m, None if m.shot_free else shots), notes=_fewshot_notes,
    paper=lambda paper, m, shots, k, dataset: paper.get("fewshot", m, dataset, shots))


def _select_datasets(entries, opts, k):
    runs = fewshot_runs(entries)
    methods = [m for m in {e.method for e in runs} if m.shot_free or any(e.method == m and e.shots == k for e in runs)]
    if not runs or (k is not None and all(m.shot_free for m in methods)):
        return None
    return runs, k


DATASETS = TableSpec(
    "datasets{shots}", lambda k, n, runs: f"Accuracy (%) per dataset at {f'{k} shots' if k is not None else 'zero-shot'}"
                                            f" (paper Fig. 3 panels)", "dataset",
    select=_select_datasets, key=lambda e: (None, (e.method, e.shots)), paper_layout="columns",
    columns=lambda runs, k: _methods(runs, lambda m: m.shot_free or any(e.method == m and e.shots == k for e in runs)),
    cell_key=lambda row, m, k: (None, (m, None if m.shot_free else k)), notes=_fewshot_notes,
    paper=lambda paper, row, m, k, dataset: paper.get("fewshot", m, dataset, k))


def tables_datasets(entries: Sequence[Entry], opts: Options) -> List[Table]:
    """Dataset x method at one shot count (Fig. 3's per-dataset panels), with the average row: per shot count."""
    shots = _sweep_shots(fewshot_runs(entries))
    chosen = (list(opts.shots) if opts.shots else [max(shots)]) if shots else [None]
    # The runs of every shot count make each table (its seeds and datasets); its columns are those at k.
    return [t for t in (build(DATASETS, entries, opts, k) for k in chosen) if t is not None]


def _select_hl(entries, opts, k):
    lamm = [e for e in entries if e.kind == "fewshot" and e.loss_terms is not None and e.label_init != "random"]
    if len({e.loss_terms for e in lamm}) < 2:
        return None
    k = _one_shot_count(lamm, opts)
    lamm = [e for e in lamm if e.shots == k]
    sets_per_family = group_by(lamm, lambda e: _family(e.method))
    lamm = [e for e in lamm if len({x.loss_terms for x in sets_per_family[_family(e.method)]}) > 1]
    return (lamm, k) if lamm else None


def _hl_order(terms):
    name = loss_terms_name(terms)
    return (HL_ROWS.index(name) if name in HL_ROWS else 99, name)


HL = TableSpec(
    "hl", lambda k, n, runs: f"Hierarchical-loss terms at {k} shots, mean over {n} datasets (paper Table 4)", "loss",
    select=_select_hl, key=lambda e: (e.loss_terms, _family(e.method)), paper_layout="columns",
    rows=lambda runs, opts: {s: loss_terms_name(s).upper() for s in sorted({e.loss_terms for e in runs}, key=_hl_order)},
    columns=lambda runs, k: method_labels(sorted({_family(e.method) for e in runs}, key=method_sort_key)),
    texts=lambda s: {t.upper(): ("✓" if t in s else "") for t in LOSS_TERMS},
    text_columns=tuple(t.upper() for t in LOSS_TERMS),
    paper=lambda paper, s, f, k, dataset: paper.get("hl", f, dataset, k, variant=loss_terms_name(s)))


def _select_init(entries, opts, k):
    lamm = [e for e in entries if e.kind == "fewshot" and e.label_init is not None]
    random_fams = {_family(e.method) for e in lamm if e.label_init == "random"}
    lamm = [e for e in lamm if _family(e.method) in random_fams
            and (e.label_init == "random" or (e.method.variant == "" and e.loss_terms == ALL_TERMS))]
    return (lamm, None) if lamm else None


def _init_families(runs):
    return method_labels(sorted({_family(e.method) for e in runs if e.label_init == "random"}, key=method_sort_key))


def _init_columns(runs, k):
    families = _init_families(runs)
    return {(f, init): f"{label}: {name}" if len(families) > 1 else name
            for f, label in families.items() for init, name in (("random", "random"), ("word", "words"))}


def _init_title(k, n, runs):
    families = _init_families(runs)
    title = f"Label initialisation: random vs category words, mean over {n} datasets (paper Table 5)"
    return title + (f", {next(iter(families.values()))}" if len(families) == 1 else "")


INIT = TableSpec(
    "init", _init_title, "shots", select=_select_init, key=lambda e: (e.shots, (_family(e.method), e.label_init)),
    rows=lambda runs, opts: {k: f"{k}-shot" for k in (opts.shots or _sweep_shots(runs))},
    columns=_init_columns, paper_layout="columns",
    paper=lambda paper, shots, col, k, dataset: paper.get("init", col[0], dataset, shots,
                                                          variant="random_init" if col[1] == "random" else ""))


def _select_backbones(entries, opts, k):
    chosen = [e for e in entries if e.kind == "fewshot" and not e.ablation_only]
    if len({e.method.backbone for e in chosen}) < 2:
        return None
    k = _one_shot_count([e for e in chosen if e.method.backbone not in sweep_backbones(entries)] or chosen, opts)
    return [e for e in chosen if e.shots == k or e.method.shot_free], k


def _without_backbone(m: Method) -> Method:
    return replace(m, backbone="")


def _multi_backbone_rows(runs, opts=None):
    per_row = group_by(runs, lambda e: _without_backbone(e.method))
    return method_labels(sorted((rk for rk, es in per_row.items() if len({e.method.backbone for e in es}) > 1),
                                key=method_sort_key))


BACKBONES = TableSpec(
    "backbones", lambda k, n, runs: f"Accuracy (%) by vision backbone at {k} shots, mean over {n} datasets "
                                    f"(paper Fig. 4)", "method",
    select=_select_backbones, key=lambda e: (_without_backbone(e.method), e.method.backbone), rows=_multi_backbone_rows,
    columns=lambda runs, k: {bb: bb or "?" for bb in sorted(
        {e.method.backbone for e in runs if _without_backbone(e.method) in _multi_backbone_rows(runs)},
        key=backbone_sort_key)},
    notes=lambda entries, opts, expected: ["Fig. 4 is published as a picture only: no paper numbers."] if opts.paper
    else [])


def table_incremental(entries: Sequence[Entry], opts: Options) -> Optional[Table]:
    """Class-incremental learning (paper Table 2): Set 1 / Set 2 after stage 2, degradation."""
    inc = [e for e in entries if e.kind == "incremental"]
    if not inc:
        return None
    seeds, found, expected = _scope(inc, opts)
    columns = [dataset_label(d) for d in found] + ["Average"]
    rows = []
    for (m, k), name in _method_names({(e.method, e.shots) for e in inc}).items():
        mine = [e for e in inc if (e.method, e.shots) == (m, k)]

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
            for d in (list(found) + ["average"]) if metric is not None else []:
                row.publish("Average" if d == "average" else dataset_label(d),
                            opts.published("incremental", m, d, k, metric))
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


def _no_source_note(stat: Optional[Stat], name: str, m: Method, source: str) -> List[str]:
    if stat is not None or m.untrained:
        return []
    return [f"{name}: no {source} {'evaluation' if m.shot_free else 'training run'} with the same method, "
            f"variant and shots"]


def table_dg(entries: Sequence[Entry], opts: Options) -> Optional[Table]:
    """ImageNet -> ImageNetV2/Sketch/A/R with the same checkpoint (paper Table 1)."""
    targets = [e for e in entries if e.kind == "dg" and e.dataset != DG_SOURCE]
    if not targets:
        return None
    seeds = expected_seeds(targets, opts)
    found_targets = [d for d in DG_TARGET_NAMES if any(e.dataset == d for e in targets)]
    found_targets += sorted({e.dataset for e in targets} - set(DG_TARGET_NAMES))
    avg_t, avg_p = "Avg targets", "Avg (ImageNet, -V2, -Sketch)"
    columns = [dataset_label(DG_SOURCE)] + [dataset_label(d) for d in found_targets] + [avg_t, avg_p]
    rows, notes = [], []
    for mk, name in _method_names({_dg_key(e.method, e.shots) for e in targets}).items():
        m, k = mk
        row = Row(name)
        by_ds = {DG_SOURCE: stat_from_entries(_sources(entries, "dg", DG_SOURCE, mk), seeds)}
        notes += _no_source_note(by_ds[DG_SOURCE], name, m, DG_SOURCE)
        for d in found_targets:
            by_ds[d] = stat_from_entries([e for e in targets if _dg_key(e.method, e.shots) == mk and e.dataset == d],
                                         seeds)
        for d, stat in by_ds.items():
            row.cells[dataset_label(d)] = stat
        row.cells[avg_t] = average_stat({d: by_ds.get(d) for d in DG_TARGET_NAMES}, DG_TARGET_NAMES)
        row.cells[avg_p] = average_stat({d: by_ds.get(d) for d in (DG_SOURCE, "ImageNetV2", "ImageNetSketch")},
                                        (DG_SOURCE, "ImageNetV2", "ImageNetSketch"))
        for d in (DG_SOURCE,) + DG_TARGET_NAMES:
            row.publish(dataset_label(d), opts.published("dg", m, d, k))
        row.publish(avg_p, opts.published("dg", m, "average", k))
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
            row.publish(col, opts.paper.get(experiment, m, dataset, 16 if not m.shot_free else None, metric))
        if row.paper:
            rows.append(row)
    return sorted(rows, key=lambda r: r.label)


def table_base2new(entries: Sequence[Entry], opts: Options) -> Optional[Table]:
    """Base-to-new generalisation (CoCoOp's protocol): base, new, HM per dataset and on average."""
    b2n = [e for e in entries if e.kind == "base2new"]
    if not b2n:
        return None
    seeds, found, expected = _scope(b2n, opts)
    names = _method_names({_dg_key(e.method, e.shots) for e in b2n})

    def split_stat(mk, d, split):
        es = [e for e in b2n if _dg_key(e.method, e.shots) == mk and e.dataset == d and e.eval_set == split]
        evals = [e for e in es if e.eval_only]
        stat = stat_from_entries(evals or es, seeds)
        if stat is not None and evals:  # the training run's own test is the same number: it is used, too
            stat = replace(stat, sources=stat.sources + tuple(e.exp.experiment for e in es if not e.eval_only))
        return stat

    columns = ["Base", "New", "HM"]
    average_rows, dataset_rows = [], {d: [] for d in found}
    for mk, name in names.items():
        m, k = mk
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
        for metric, col in (("base", "Base"), ("new", "New"), ("hm", "HM")):
            row.publish(col, opts.published("base2new", m, "average", k, metric))
        average_rows.append(row)
    shown = {m.trainer for m, _ in names if (m.variant, m.loss, m.preset, m.untrained) == ("", "", "default", False)}
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
    seeds = expected_seeds(targets, opts)
    keys = sorted({(_dg_key(e.method, e.shots), e.source_dataset) for e in targets},
                  key=lambda x: (method_sort_key(x[0][0]), x[0][1] or 0, dataset_sort_key(x[1])))
    labels = method_labels(sorted({mk[0] for mk, _ in keys}, key=method_sort_key))
    sources = sorted({src for _, src in keys}, key=dataset_sort_key)
    found = sorted({e.dataset for e in targets}, key=dataset_sort_key)
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
        notes += _no_source_note(row.cells["Source"], name, m, src)
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
        "fewshot": lambda: [build(FEWSHOT, entries, opts)],
        "datasets": lambda: tables_datasets(entries, opts),
        "hl": lambda: [build(HL, entries, opts)],
        "init": lambda: [build(INIT, entries, opts)],
        "backbones": lambda: [build(BACKBONES, entries, opts)],
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

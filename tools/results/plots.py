"""Accuracy-vs-shots curves per dataset and on average, like the LAMM paper's Fig. 3."""
import math
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Tuple

from tools.results.classify import Entry, Method, dataset_label, dataset_sort_key, method_labels, method_sort_key
from tools.results.paper import PaperResults
from tools.results.stats import Stat, average_stat, stat_from_entries
from tools.results.tables import Options, expected_datasets, expected_seeds, group_by, fewshot_runs


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


def fewshot_grid(entries: Sequence[Entry], opts: Options, include_ablations: bool = False) -> Optional[FewShotGrid]:
    """The few-shot runs of the main sweep: ablation-only variants and off-sweep backbones left out."""
    chosen = fewshot_runs(entries, include_ablations)
    if not chosen:
        return None
    seeds = expected_seeds(chosen, opts)
    by_cell = group_by(chosen, lambda e: (e.method, e.dataset, e.shots))
    cells = {k: stat_from_entries(v, seeds) for k, v in by_cell.items()}
    methods = sorted({e.method for e in chosen}, key=method_sort_key)
    datasets = sorted({e.dataset for e in chosen}, key=dataset_sort_key)
    shots = sorted({e.shots for e in chosen if e.shots is not None})
    expected = expected_datasets(datasets, opts)
    averages = {}
    for m in methods:
        for k in ([None] if m.shot_free else shots):
            by_ds = {d: cells.get((m, d, k)) for d in datasets}
            avg = average_stat(by_ds, expected)
            if avg is not None:
                averages[(m, k)] = avg
    return FewShotGrid(methods, method_labels(methods), datasets, shots, expected, cells, averages)


def plot_fewshot(grid: FewShotGrid, path, paper: Optional[PaperResults] = None, title: Optional[str] = None,
                 dpi: int = 100) -> str:
    """Write the figure to ``path`` and return it."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    panels = ["average"] + list(grid.datasets)
    ncols = min(4, len(panels))
    nrows = math.ceil(len(panels) / ncols)
    fig = Figure(figsize=(3.6 * ncols, 3.0 * nrows + 0.9), layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(nrows, ncols, squeeze=False).ravel()
    colors = {m: f"C{i % 10}" for i, m in enumerate(grid.methods)}
    shots = grid.shots or [1]
    lo, hi = min(shots), max(shots)
    handles = {}

    for ax, panel in zip(axes, panels):
        for m in grid.methods:
            label = grid.labels[m]
            color = colors[m]
            if panel == "average":
                points = [(k, grid.average(m, k)) for k in shots]
            else:
                points = [(k, grid.cell(m, panel, k)) for k in shots]
            points = [(k, s) for k, s in points if s is not None and s.mean is not None]
            xs, ys = [k for k, _ in points], [s.mean for _, s in points]
            sd = [s.std or 0.0 for _, s in points]
            if m.shot_free:
                if ys:
                    line = ax.axhline(ys[0], color=color, linestyle="--", linewidth=1.2, label=label)
                    handles.setdefault(label, line)
            elif xs:
                (line,) = ax.plot(xs, ys, marker="o", markersize=4, color=color, linewidth=1.5, label=label)
                handles.setdefault(label, line)
                ax.fill_between(xs, [y - e for y, e in zip(ys, sd)], [y + e for y, e in zip(ys, sd)],
                                color=color, alpha=0.15, linewidth=0)
                partial = [(k, s.mean) for k, s in points if s.incomplete]
                if partial:  # hollow markers: an average that misses datasets
                    ax.plot(*zip(*partial), linestyle="none", marker="o", markersize=7,
                            markerfacecolor="white", markeredgecolor=color)
            if paper is not None:
                key = "average" if panel == "average" else panel
                pts = [(k, paper.get("fewshot", m, key, k)) for k in shots]
                pts = [(k, pv.value) for k, pv in pts if pv is not None]
                if pts and m.shot_free:
                    ax.axhline(pts[0][1], color=color, linestyle=":", linewidth=1.0)
                elif pts:  # a line only through the paper's full curve (the averages of Table 3)
                    line = ":" if panel == "average" and len(pts) == len(shots) else "none"
                    ax.plot(*zip(*pts), linestyle=line, marker="x", markersize=5, color=color, linewidth=1.0)
        if panel == "average":
            n_with = len([d for d in grid.expected if d in grid.datasets])
            name = f"Average over {n_with} datasets"
            if n_with < len(grid.expected):
                name = f"Average over {n_with} of {len(grid.expected)} datasets"
        else:
            name = dataset_label(panel)
        ax.set_title(name, fontsize=10)
        ax.set_xscale("log", base=2)
        ax.set_xticks(shots)
        ax.set_xticklabels([str(k) for k in shots])
        ax.set_xlim(lo / 1.3, hi * 1.3)
        ax.grid(True, linewidth=0.4, alpha=0.5)
        ax.tick_params(labelsize=8)
    for ax in axes[len(panels):]:
        ax.set_visible(False)
    for ax in axes[(nrows - 1) * ncols:]:
        ax.set_xlabel("shots per class", fontsize=9)
    for ax in axes[::ncols]:
        ax.set_ylabel("accuracy (%)", fontsize=9)

    extra = []
    if paper is not None:
        from matplotlib.lines import Line2D

        extra = [Line2D([], [], color="gray", linestyle=":", marker="x", label="paper (Table 3 / Fig. 3)")]
    fig.legend(handles=list(handles.values()) + extra, loc="outside lower center",
               ncol=min(5, len(handles) + len(extra)), fontsize=9, frameon=False)
    if title:
        fig.suptitle(title, fontsize=11)
    fig.savefig(path, dpi=dpi)
    return str(path)

"""Results as text: the per-experiment list and the paper-shaped tables, as a terminal table, markdown, csv."""
import csv
import io
import json
from typing import Any, Dict, List, Optional, Sequence, Tuple

from tabulate import tabulate

from tools.results.collect import ExperimentResult, experiment_to_dict
from tools.results.paper import PaperValue
from tools.results.stats import Stat
from tools.results.tables import PAPER_TABLES, TABLE_NAMES, Table

TABLE_FORMATS = {"table": "github", "markdown": "pipe"}
# --cost: the record's cost fields as columns, with their headers and formats.
COST_COLUMNS = (("wall_s", "wall (s)", "{:.0f}"), ("host_peak_gb", "host GB", "{:.2f}"),
                ("gpu_peak_gb", "GPU GB", "{:.2f}"), ("trainable_params", "params", "{:,.0f}"),
                ("train_images_per_s", "img/s", "{:.1f}"))


def render(experiments: Sequence[ExperimentResult], fmt: str, keyword: str, ci95: bool = False,
           cost: bool = False) -> str:
    """The all-experiments table as a string in one of table, markdown, csv, json."""
    if fmt == "json":
        return json.dumps([experiment_to_dict(e) for e in experiments], indent=2)
    cost_names = [name for name, _, _ in COST_COLUMNS] if cost else []
    if fmt == "csv":
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow(["experiment", "n", "seeds", "mean", "std", "ci95", "values", "flags", "labels"] + cost_names)
        for e in experiments:
            writer.writerow([
                e.experiment, e.n, " ".join(e.seeds),
                _csv_num(e.mean), _csv_num(e.std), _csv_num(e.ci95),
                " ".join(repr(v) for v in e.values), "; ".join(e.flags), "; ".join(e.labels),
            ] + [_csv_num(e.cost[name]) for name in cost_names])
        return buf.getvalue().rstrip("\n")
    spread_name = "ci95" if ci95 else "std"
    rows = []
    for e in experiments:
        spread = e.ci95 if ci95 else e.std
        summary = "-" if e.mean is None else f"{e.mean:.2f} ± {spread:.2f}"
        name = e.experiment + (f" ({', '.join(e.labels)})" if e.labels else "")
        costs = [_cost_text(e.cost[name], form) for name, _, form in COST_COLUMNS] if cost else []
        rows.append([name, e.n, ",".join(e.seeds), summary] + costs + ["; ".join(e.flags)])
    headers = ["experiment", "n", "seeds", f"{keyword} (mean ± {spread_name})"]
    headers += [header for _, header, _ in COST_COLUMNS] if cost else []
    align = ("left", "right", "left", "right") + ("right",) * (len(headers) - 4) + ("left",)
    return tabulate(rows, headers=headers + ["flags"], tablefmt=TABLE_FORMATS[fmt], disable_numparse=True,
                    colalign=align)


def resolve_table_names(value, fmt):
    """--table: auto (default), all, or a comma/space separated list of table names."""
    names = (value or "auto").replace(",", " ").split()
    out = []
    for name in names:
        if name == "auto":
            out += list(PAPER_TABLES) + ["runs"] if fmt in TABLE_FORMATS else ["runs"]
        elif name == "all":
            out += list(PAPER_TABLES) + ["runs"]
        elif name in TABLE_NAMES:
            out.append(name)
        else:
            raise ValueError(f"--table: unknown table {name!r} (choose from auto, all, {', '.join(TABLE_NAMES)})")
    return [n for i, n in enumerate(out) if n not in out[:i]]


def _cost_text(value: Optional[float], form: str) -> str:
    return "-" if value is None else form.format(value)


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

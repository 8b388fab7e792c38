"""Summarise test results over seeds: one row per experiment found under an output folder."""
import argparse
import sys
from pathlib import Path

from tools.results.classify import classify, datasets_to_cover
from tools.results.collect import aggregate, find_runs, is_run_dir, mean_std, natural_key, nothing_found_message, read_run
from tools.results.paper import PAPER_RESULTS, PaperResults
from tools.results.render import TABLE_FORMATS, render, render_machine, render_text, resolve_table_names
from tools.results.tables import PAPER_TABLES, TABLE_NAMES, Options, build_tables, used_experiments


def _warn(msg):
    print(msg, file=sys.stderr)


def _warn_unfinished(exp):
    for flag in exp.flags:
        _warn(f"warning: {exp.path}: {flag}")


def _warn_foreign(experiments):
    for exp in experiments:
        _warn(f"warning: {exp.path}: {exp.experiment} is another experiment's run(s), left out of the summary")


def print_coop_summary(exp, directory, ci95=False):
    """CoOp's per-directory block; returns the mean. Problems go to stderr so stdout stays CoOp's."""
    keyword = exp.keyword
    print(f"Parsing files in {directory}")
    for r in exp.finished:
        print(f"file: {r.source}. {keyword}: {r.value:.2f}%. ")
    mean, spread = mean_std(exp.values, ci95=ci95)
    print("===")
    print(f"Summary of directory: {directory}")
    print(f"* {keyword}: {mean:.2f}% +- {spread:.2f}%")
    print("===")
    _warn_unfinished(exp)
    return mean


def run_multi_exp(args):
    """Every subfolder of args.directory is one experiment; print each, then the average."""
    root = Path(args.directory)
    subdirs = sorted((p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")),
                     key=lambda p: natural_key(p.name)) if root.is_dir() else []
    means, all_runs = [], []
    for sub in subdirs:
        runs = [read_run(d, root, args.keyword, args.test_log)
                for d in sorted(sub.iterdir(), key=lambda p: natural_key(p.name)) if is_run_dir(d)]
        all_runs += runs
        if not runs:
            _warn(f"skipping {sub}: no seed*/log.txt or seed*/results.json in it")
            continue
        exp, *foreign = aggregate(runs, args.seeds)
        _warn_foreign(foreign)
        if exp.n == 0:
            _warn(f"skipping {sub}: " + "; ".join(exp.flags))
            continue
        means.append(print_coop_summary(exp, str(Path(args.directory) / sub.name), args.ci95))
    if not means:
        _warn(nothing_found_message(root, all_runs, args.keyword, args.test_log)
              + "\n  - --multi-exp expects <directory>/<experiment>/seed<S>/log.txt")
        return 1
    print("Average performance")
    print(f"* {args.keyword}: {sum(means) / len(means):.2f}%")
    return 0


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("directory", type=str,
                        help="output folder to search (any depth), or one experiment folder")
    parser.add_argument("--ci95", action="store_true",
                        help="report the 95%% confidence interval instead of the std")
    parser.add_argument("--test-log", action="store_true",
                        help="eval-only logs: start reading at '=> result'")
    parser.add_argument("--multi-exp", action="store_true",
                        help="each subfolder of directory is an experiment (CoOp)")
    parser.add_argument("--keyword", default="accuracy", type=str,
                        help="metric to read (accuracy, error, macro_f1)")
    parser.add_argument("--format", choices=["table", "markdown", "csv", "json"], default=None,
                        help="all-experiments table format (default: table; a single experiment "
                             "folder prints CoOp's summary unless --format is given)")
    parser.add_argument("--seeds", type=int, nargs="+", default=None,
                        help="seeds every experiment should have; absent ones are flagged")
    parser.add_argument("--cost", action="store_true",
                        help="add what the runs cost to the per-experiment list: wall time, peak host and GPU "
                             "memory, trainable parameters, training images per second (means over seeds)")
    tables = parser.add_argument_group("paper-shaped tables and plots")
    tables.add_argument("--table", default=None, metavar="NAMES",
                        help="tables to print, comma separated: " + ", ".join(TABLE_NAMES)
                             + "; 'all'; default 'auto' = 'runs', then every paper table with results "
                               "(csv/json: 'runs' only)")
    tables.add_argument("--shots", type=int, nargs="+", default=None,
                        help="shot count(s) of the per-dataset table (default: the largest found) and of "
                             "the ablation tables (default: 16)")
    tables.add_argument("--datasets", nargs="+", default=None, metavar="NAME",
                        help="datasets every average should cover (default: the paper's 11); "
                             "'found' = the datasets present")
    tables.add_argument("--paper", action="store_true",
                        help="add the published numbers (LAMM; MaPLe's for base-to-new) next to yours")
    tables.add_argument("--paper-file", default=None, metavar="CSV",
                        help=f"published numbers to use with --paper (default: {PAPER_RESULTS.relative_to(PAPER_RESULTS.parents[1])})")
    tables.add_argument("--plot", default=None, metavar="FILE",
                        help="draw accuracy-vs-shots curves per dataset and on average (png, pdf, svg)")
    tables.add_argument("--title", default=None, help="title of the --plot figure")
    args = parser.parse_args(argv)

    if args.multi_exp:
        if args.format is not None:
            parser.error("--multi-exp prints CoOp's summary; use --format without --multi-exp for a table")
        return run_multi_exp(args)

    runs = find_runs(args.directory, args.keyword, args.test_log)
    if not any(r.finished for r in runs):
        _warn(nothing_found_message(args.directory, runs, args.keyword, args.test_log))
        return 1
    experiments = aggregate(runs, args.seeds)

    # One folder of seeds (its foreign runs, if any, are groups of their own): CoOp's summary.
    single = all(e.folder == "." for e in experiments)
    if single and args.format is None and args.table is None and args.plot is None:
        own, *foreign = experiments
        print_coop_summary(own, args.directory, args.ci95)
        _warn_foreign(foreign)
        return 0

    fmt = args.format or "table"
    try:
        names = resolve_table_names(args.table, fmt)
    except ValueError as e:
        parser.error(str(e))
    opts = Options(
        expected_datasets=datasets_to_cover(args.datasets),
        expected_seeds=tuple(str(s) for s in args.seeds) if args.seeds else None,
        shots=tuple(args.shots) if args.shots else None,
        paper=PaperResults.load(args.paper_file or PAPER_RESULTS) if (args.paper or args.paper_file) else None,
    )
    paper = opts.paper is not None
    tables = build_tables(experiments, [n for n in names if n != "runs"], opts)
    for name in (args.table or "").replace(",", " ").split():
        if name in PAPER_TABLES and not any(t.name.split("_")[0] == name for t in tables):
            _warn(f"no results for the '{name}' table (docs/EXPERIMENTS.md says which records it reads)")
    if paper and names == ["runs"]:
        _warn("--paper adds published numbers to the paper-shaped tables: add --table all")

    # Seeds without a result are in the flags column, so nothing goes to stderr here.
    if names == ["runs"]:
        print(render(experiments, fmt, args.keyword, args.ci95, args.cost))
    elif fmt in TABLE_FORMATS:
        chunks = []
        if "runs" in names:  # first, so that the summaries end up at the bottom of the terminal
            chunks.append(render(experiments, fmt, args.keyword, args.ci95, args.cost))
        if tables:
            chunks.append(render_text(tables, fmt, paper, args.ci95))
            used = used_experiments(tables)
            unused = [e.experiment for e in experiments if e.experiment not in used]
            if unused and "runs" in names:
                shown = ", ".join(unused[:5]) + (f", ... ({len(unused)} in all)" if len(unused) > 5 else "")
                chunks.append(f"In no table above (what each table reads: docs/EXPERIMENTS.md): {shown}")
        print("\n\n".join(chunks))
    else:
        print(render_machine(tables, fmt, paper, runs=experiments if "runs" in names else None))

    if args.plot:
        try:
            from tools.results.plots import fewshot_grid, plot_fewshot
        except ImportError as e:
            _warn(f"--plot needs matplotlib ({e}): pip install matplotlib")
            return 1
        grid = fewshot_grid(classify(experiments), opts)
        if grid is None:
            _warn(f"--plot: no few-shot experiments under {args.directory}, nothing to draw")
            return 1
        plot_fewshot(grid, args.plot, paper=opts.paper, title=args.title)
        _warn(f"wrote {args.plot}")
    return 0


if __name__ == "__main__":
    from lamm.errors import run_command  # exit status, error lines, a closed pipe (| head)

    run_command(main)

"""What the labels learned: how far each class's label embedding moved, and the words it is near."""
import argparse
import contextlib
import json
import os.path as osp
import statistics
import sys

if not __package__:  # run as a file (python path/to/tools/x.py, from any folder): lamm/ is beside tools/
    sys.path[0] = osp.dirname(osp.dirname(osp.abspath(__file__)))  # in place of tools/, whose names would shadow

import torch
import torch.nn.functional as F

from lamm.errors import ConfigError, check_writable, run_command, write_error
from trainers.methods import METHODS


class Vocabulary:
    """CLIP's token-embedding table with its decoder, for nearest-word look-ups."""

    def __init__(self, token_embedding_weight: torch.Tensor, text_tokenizer=None):
        """``text_tokenizer``: the backbone's (``lamm.backbones.Tokenizer``); OpenAI's BPE by default."""
        from lamm.backbones.openai import openai_tokenizer

        self.tokenizer = text_tokenizer or openai_tokenizer()
        table = F.normalize(token_embedding_weight.detach().float(), dim=-1)
        table[self.tokenizer.special_ids()] = 0  # never a "word" of a label
        table[self.tokenizer.vocabulary_size():] = 0  # rows no token maps to (a padded table)
        self.table = table

    def nearest(self, vectors: torch.Tensor, k: int):
        """(n, D) vectors -> per vector, the k nearest tokens as (word, cosine), best first."""
        similarity = F.normalize(vectors.detach().float(), dim=-1) @ self.table.t()  # (n, vocab)
        values, indices = similarity.topk(k, dim=-1)
        return [[(self.tokenizer.decode([int(i)]).strip(), float(v)) for i, v in zip(row_i, row_v)]
                for row_i, row_v in zip(indices.tolist(), values.tolist())]


def label_report(label_embeddings, classnames, vocabulary: Vocabulary, k: int = 3) -> list:
    """Per class: its learned slots' movement from their anchors and their nearest words."""
    vectors, anchor = label_embeddings.vectors.detach().float(), label_embeddings.anchor.float()
    class_index = label_embeddings.class_index.tolist()
    words = vocabulary.nearest(vectors, k)
    cosine = F.cosine_similarity(vectors, anchor, dim=-1).tolist()
    squared = ((vectors - anchor) ** 2).sum(dim=-1).tolist()
    rows = []
    for c, name in enumerate(classnames):
        slots = [s for s, owner in enumerate(class_index) if owner == c]
        if not slots:
            rows.append({"class": name, "index": c, "frozen": True, "l2": None, "cosine": None, "nearest": []})
            continue
        rows.append({
            "class": name, "index": c, "frozen": False,
            "l2": sum(squared[s] for s in slots) ** 0.5,
            "cosine": sum(cosine[s] for s in slots) / len(slots),
            "nearest": [words[s] for s in slots],  # one list of (word, cosine) per learned token
        })
    return rows


def context_report(prompt_learner, vocabulary: Vocabulary, k: int = 3, compare_with_start: bool = True):
    """Nearest words of each context vector (of every class with class-specific context)."""
    ctx = prompt_learner.ctx.detach().float()
    vectors = ctx.reshape(-1, ctx.shape[-1])  # (n_ctx, D), or (n_cls * n_ctx, D) with CSC
    report = {"shape": list(ctx.shape), "nearest": vocabulary.nearest(vectors, k)}
    if compare_with_start:  # the start is known only when it was words (CTX_INIT), not random
        start = prompt_learner.initial_ctx.float().reshape(-1, ctx.shape[-1])
        report["l2"] = (vectors - start).norm(dim=-1).tolist()
        report["cosine"] = F.cosine_similarity(vectors, start, dim=-1).tolist()
    return report


def summarise(rows, count: int = 5) -> dict:
    moved = sorted((r for r in rows if not r["frozen"]), key=lambda r: r["l2"], reverse=True)
    if not moved:
        return {}
    distances = [r["l2"] for r in moved]
    return {"most": [r["class"] for r in moved[:count]], "least": [r["class"] for r in moved[::-1][:count]],
            "mean_l2": statistics.fmean(distances), "median_l2": statistics.median(distances),
            "max_l2": distances[0], "min_l2": distances[-1]}


def _words(nearest):
    return " ".join("/".join(word or "?" for word, _ in slot) for slot in nearest)


def trainers_with_labels():
    """The trainers whose runs learn label embeddings (LAMM, CoOpLAMM, MaPLeLAMM)."""
    return sorted(m.trainer for m in METHODS.values() if m.learns_labels)


def no_labels_note(trainer: str) -> str:
    return f"a {trainer} run learns no label embeddings ({', '.join(trainers_with_labels())} runs do)"


def print_report(report, out=None):
    out = out or sys.stdout
    unfinished = "" if report.get("finished", True) else f" of {report['max_epoch']}: an unfinished run"
    what = f"{len(report['classes'])} classes" if report["learns_labels"] else no_labels_note(report["trainer"])
    print(f"{report['trainer']} run {report['run']} (epoch {report['epoch']}{unfinished}), {what}", file=out)
    if report["context"] is not None:
        context = report["context"]
        print(f"context {tuple(context['shape'])}, nearest words per vector: {_words(context['nearest'])}", file=out)
        if "l2" in context:
            print("context moved (L2 per vector): " + ", ".join(f"{v:.4f}" for v in context["l2"]), file=out)
    if not report["classes"]:
        return
    width = max(len(r["class"]) for r in report["classes"])
    print(f"{'class':<{width}}  {'L2':>8}  {'cosine':>7}  nearest words (per learned token)", file=out)
    for r in report["classes"]:
        if r["frozen"]:
            print(f"{r['class']:<{width}}  {'frozen (learned in an earlier stage)':>17}", file=out)
        else:
            print(f"{r['class']:<{width}}  {r['l2']:>8.4f}  {r['cosine']:>7.4f}  {_words(r['nearest'])}", file=out)
    summary = report["summary"]
    if summary:
        print(f"moved most: {', '.join(summary['most'])}", file=out)
        print(f"moved least: {', '.join(summary['least'])}", file=out)
        print(f"L2 moved: mean {summary['mean_l2']:.4f}, median {summary['median_l2']:.4f}, "
              f"range {summary['min_l2']:.4f}-{summary['max_l2']:.4f}", file=out)


def plot(rows, path: str) -> None:
    """Histogram of how far the classes' labels moved (L2) and their cosine to the start."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from lamm.files import atomic_write

    moved = [r for r in rows if not r["frozen"]]
    if not moved:
        raise ConfigError("no trained label embeddings to plot (all are frozen).")
    figure, (left, right) = plt.subplots(1, 2, figsize=(9, 3.5))
    left.hist([r["l2"] for r in moved], bins=min(30, max(5, len(moved) // 3)))
    left.set(xlabel="L2 distance from the start", ylabel="classes")
    right.hist([r["cosine"] for r in moved], bins=min(30, max(5, len(moved) // 3)))
    right.set(xlabel="cosine to the start", ylabel="classes")
    figure.tight_layout()
    try:
        atomic_write(path, lambda tmp_path: figure.savefig(tmp_path, format=plot_format(path)))
    except OSError as error:  # the folder became unwritable, the disk is full, ...
        raise write_error(path, error, "--plot") from None
    finally:
        plt.close(figure)


def plot_format(path: str) -> str:
    """The file format from --plot's extension (png without one), one that matplotlib writes."""
    from matplotlib.backend_bases import FigureCanvasBase

    extension = osp.splitext(path)[1].lstrip(".").lower() or "png"
    formats = FigureCanvasBase.get_supported_filetypes()
    if extension not in formats:
        raise ConfigError(f"--plot {path}: matplotlib cannot write .{extension} files; use one of "
                          f"{', '.join('.' + f for f in sorted(formats))}.")
    return extension


def inspect_run(run_dir: str, epoch=None, k: int = 3) -> dict:
    from trainers.from_run import TrainedModel

    with contextlib.redirect_stdout(sys.stderr):
        trained = TrainedModel(run_dir, epoch, "cpu")
    if trained.model is None:
        raise ConfigError(f"{run_dir} is a {trained.trainer} run: it learned nothing to inspect.")
    if trained.unfinished_warning():
        print(trained.unfinished_warning(), file=sys.stderr)
    learner = trained.model.prompt_learner
    vocabulary = Vocabulary(trained.clip_model.token_embedding.weight, trained.clip_model.tokenizer)  # that model's words
    if k > vocabulary.table.shape[0]:
        raise ConfigError(f"--words {k}: the backbone's vocabulary has {vocabulary.table.shape[0]} tokens; ask for fewer "
                          "nearest words (default 3).")
    labels = learner.label_embeddings
    rows = label_report(labels, trained.classnames, vocabulary, k) if labels is not None else []
    context = None
    if learner.learns_context:
        from trainers.methods import METHODS

        init = trained.cfg.TRAINER[METHODS[trained.trainer].options_node].CTX_INIT  # COOP, COCOOP or MAPLE
        context = context_report(learner, vocabulary, k, compare_with_start=bool(init))
    return {**trained.describe(), "run": run_dir, "learns_labels": labels is not None, "classes": rows,
            "context": context, "summary": summarise(rows)}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", help="a training run's output folder")
    parser.add_argument("--load-epoch", type=int, help="the checkpoint's epoch (default: the final one)")
    parser.add_argument("--words", type=int, default=3, help="nearest words per vector (default 3)")
    parser.add_argument("--format", choices=("table", "json"), default="table")
    parser.add_argument("--plot", metavar="FILE", help="also draw the distribution of the movement (png, pdf, svg)")
    args = parser.parse_args(argv)
    if args.words < 1:
        raise ConfigError(f"--words must be at least 1, got {args.words}.")
    if not osp.isdir(args.run):
        raise ConfigError(f"{args.run}: no such run folder.")
    if args.plot:  # before the model is built
        check_writable(args.plot, "--plot")
        plot_format(args.plot)
    report = inspect_run(args.run, args.load_epoch, args.words)
    if args.plot and not report["learns_labels"]:
        raise ConfigError(f"--plot draws how the label embeddings moved, but {args.run} is a {report['trainer']} run: "
                          f"{no_labels_note(report['trainer'])}. Drop --plot to see its context's nearest words.")
    if args.plot:
        plot(report["classes"], args.plot)
    if args.format == "json":
        print(json.dumps(report, indent=2))
    else:
        print_report(report)
        if args.plot:
            print(f"plot written to {args.plot}")


if __name__ == "__main__":
    run_command(main)

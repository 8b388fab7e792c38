"""Write a synthetic ``output/`` folder with every kind of experiment, for tests and docs."""
import argparse
import hashlib
import json
import math
from pathlib import Path
from typing import Dict, Iterable, Optional, Sequence, Tuple

import numpy as np

from datasets.catalog import CATALOG, DG_TARGETS, FEWSHOT_BENCHMARKS
from tools.runs import Run
from tools.runs.variants import VARIANTS
from trainers.record import Record

KEY_OF = {CATALOG[k].name: k for k in FEWSHOT_BENCHMARKS + DG_TARGETS}  # Dassl NAME -> config key
EPOCHS = {"MaPLe": 5, "MaPLeLAMM": 5, "CoCoOp": 10, "CoCoOpLAMM": 10}  # OPTIM.MAX_EPOCH of their configs
# Share of the gap between zero-shot and the dataset's ceiling that each method closes.
GAIN = {"CoOp": 0.70, "LAMM": 0.80, "CoOpLAMM": 0.85, "CoCoOp": 0.72, "CoCoOpLAMM": 0.84, "MaPLe": 0.75,
        "MaPLeLAMM": 0.82}
# Base-to-new: how far each method's new-class accuracy falls from zero-shot CLIP's. LAMM keeps
# the new classes' word embeddings and CLIP's template, so its new accuracy IS zero-shot CLIP's.
NEW_SHIFT = {"CoOp": -8.0, "LAMM": 0.0, "CoOpLAMM": -6.0, "CoCoOp": -1.5, "CoCoOpLAMM": -1.0, "MaPLe": 1.0,
             "MaPLeLAMM": 0.5}
BACKBONE_SHIFT = {"RN50": -9.0, "RN101": -7.0, "ViT-B/32": -4.5, "ViT-B/16": 0.0}
ALL_TERMS = ("ce", "wc", "cos", "kd")
KINDS = ("fewshot", "woHL", "hl", "init", "backbones", "incremental", "dg", "base2new", "cross_dataset")


def _lamm(trainer: str) -> bool:
    return trainer.endswith("LAMM")


def variant_loss_terms(name: str) -> Tuple[str, ...]:
    """The loss terms a LAMM run of the named variant keeps in force, read from its overrides."""
    opts = VARIANTS[name].opts if name in VARIANTS else ()
    values = dict(zip(opts[::2], opts[1::2]))
    if values.get("TRAINER.LAMM.HIERARCHICAL_LOSS") == "False":
        return ("ce",)
    return ("ce",) + tuple(t for t in ALL_TERMS[1:] if values.get(f"TRAINER.LAMM.LAMBDA_{t.upper()}") != "0.0")


# Table 4's variants: the named variants that turn loss terms off, one at a time or two.
LOSS_VARIANTS = {name: variant_loss_terms(name) for name in VARIANTS
                 if len(variant_loss_terms(name)) in (2, 3) and name.startswith("ce_")}
# Fig. 4's variants: the named variants that set the backbone.
BACKBONE_VARIANTS = {VARIANTS[name].opts[1]: name for name in VARIANTS if VARIANTS[name].opts[:1] == ("MODEL.BACKBONE.NAME",)}


def record(trainer: str, dataset: str, seed: int, accuracy: float, *, shots: int, protocol: str = "fewshot",
           variant: str = "", subsample: str = "all", eval_set: Optional[str] = None, stage: Optional[int] = None,
           source: Optional[str] = None, train_classes: str = "all", eval_only: bool = False,
           untrained: bool = False, backbone: str = "ViT-B/16", terms: Sequence[str] = ALL_TERMS,
           label_init: str = "word", preset: str = "default", model_dir: Optional[str] = None) -> Record:
    """A full record as the trainers write it (made-up times and memory)."""
    info = CATALOG.get(KEY_OF.get(dataset, ""))
    n_all = info.num_classes if info else 10
    n_base = math.ceil(n_all / 2)
    n = {"base": n_base, "new": n_all - n_base}.get(subsample, n_all)
    epochs = 0 if trainer == "ZeroshotCLIP" else EPOCHS.get(trainer, 50)
    lamm = _lamm(trainer)
    weights = {"ce": 1.0, "wc": 1.0 / max(shots, 1), "cos": 1.0, "kd": 1.0}
    loss = {t: weights[t] for t in (terms if lamm else ("ce",))}
    labels = {"tokens": 1, "init": label_init} if lamm else None
    overrides = [] if not variant else ["RUN.VARIANT", variant]
    ident = dict(method=trainer, dataset=dataset, num_shots=shots, subsample_classes=subsample, backbone=backbone,
                 train_classes=train_classes, loss=loss, labels=labels, preset=preset, eval_only=eval_only,
                 untrained=untrained, epochs=epochs)
    fingerprint = hashlib.sha256(json.dumps(ident, sort_keys=True).encode()).hexdigest()[:16]
    rng = np.random.default_rng(int(fingerprint[:8], 16) + seed)  # times: deterministic per run
    train_s = None if eval_only else round(float(rng.uniform(60, 600)), 1)
    test_s = round(float(rng.uniform(5, 60)), 1)
    checkpoint = None
    if eval_only and not untrained and model_dir is not None:
        checkpoint = {"run_dir": model_dir, "epoch": epochs, "file": f"{model_dir}/prompt_learner/model.pth.tar-{epochs}"}
    memory = {"train": None if eval_only else round(float(rng.uniform(2, 12)), 2),
              "test": round(float(rng.uniform(1, 4)), 2), "device": "cuda"}
    num_test = (info.sizes[2] if info else 1000) * n // max(n_all, 1)
    cost = {"wall_s": round((train_s or 0.0) + test_s + float(rng.uniform(10, 30)), 1),
            "host_peak_gb": round(float(rng.uniform(3, 8)), 2),
            "gpu_peak_gb": max(v for v in (memory["train"], memory["test"]) if v is not None),
            "trainable_params": 0 if trainer == "ZeroshotCLIP" else 2048 * (4 if lamm else 1),
            "train_images_per_s": None if eval_only else round(shots * n * epochs / train_s, 1)}
    return Record(
        accuracy=accuracy, method=trainer, dataset=dataset, num_shots=shots, subsample_classes=subsample, seed=seed,
        backbone=backbone, epoch=epochs, eval_only=eval_only, num_classes=n, num_test=num_test, protocol=protocol,
        variant=variant, stage=stage, eval_set=eval_set, source_dataset=source, train_classes=train_classes,
        preset=preset, untrained=untrained, loss=loss, labels=labels, checkpoint=checkpoint,
        config_fingerprint=fingerprint, overrides=overrides, time_s={"train": train_s, "test": test_s},
        peak_memory_gb=memory, cost=cost, classnames=[f"class_{i:04d}" for i in range(n)])


def write_result(root, rel: str, content: Record) -> Path:
    """``<root>/<rel>/seed<seed>/results.json``."""
    run = Path(root) / rel / f"seed{content.seed}"
    run.mkdir(parents=True, exist_ok=True)
    content.write(str(run))
    return run


def experiment(trainer: str, key: str, shots: Optional[int] = 16, before: Tuple[str, ...] = (),
               variants: Tuple[str, ...] = ()) -> str:
    """The experiment folder the scripts give a run (``Run``): ``<before or key/trainer>/<config>[_<variant>]``."""
    run = Run(trainer, key, shots, 1, "", "", variants=variants, place=(before, ()))
    return run.name.rsplit("/", 1)[0]


class _Model:
    """Made-up accuracies: smooth in the shot count, different per dataset and method."""

    def __init__(self, rng, datasets):
        self.rng = rng
        self.zs = {d: float(rng.uniform(30, 90)) for d in datasets}
        self.top = {d: min(99.0, self.zs[d] + float(rng.uniform(5, 35))) for d in datasets}

    def acc(self, trainer, dataset, shots, gain_scale=1.0, shift=0.0, one_shot_penalty=0.0):
        if trainer == "ZeroshotCLIP":
            value = self.zs[dataset] + shift
        else:
            reach = 1 - math.exp(-shots / 4.0)
            value = self.zs[dataset] + GAIN[trainer] * gain_scale * (self.top[dataset] - self.zs[dataset]) * reach
            value += shift - one_shot_penalty / shots
        value += float(self.rng.normal(0, 0.6)) if trainer != "ZeroshotCLIP" else 0.0
        return round(min(100.0, max(0.0, value)), 2)


def make_output(root, datasets: Optional[Sequence[str]] = None, trainers: Sequence[str] = tuple(GAIN),
                shots: Sequence[int] = (1, 2, 4, 8, 16), seeds: Sequence[int] = (1, 2, 3),
                kinds: Iterable[str] = KINDS, rng_seed: int = 0) -> Dict[str, float]:
    """Write the runs; return {"<experiment>/seed<S>": accuracy} for everything written."""
    datasets = list(datasets or [CATALOG[k].name for k in FEWSHOT_BENCHMARKS])
    kinds = set(kinds)
    rng = np.random.default_rng(rng_seed)
    model = _Model(rng, datasets + [CATALOG[k].name for k in DG_TARGETS])
    written: Dict[str, float] = {}

    def folder(d):
        return KEY_OF.get(d, d.lower())

    def put(rel, trainer, d, seed, acc, **kw):
        write_result(root, rel, record(trainer, d, seed, acc, **kw))
        written[f"{rel}/seed{seed}"] = acc

    for d in datasets:
        put(experiment("ZeroshotCLIP", folder(d), None), "ZeroshotCLIP", d, 1, model.acc("ZeroshotCLIP", d, 0),
            shots=-1, eval_only=True)
        for tr in trainers:
            for k in shots:
                for s in seeds:
                    if "fewshot" in kinds:
                        put(experiment(tr, folder(d), k), tr, d, s, model.acc(tr, d, k), shots=k)
                    if "woHL" in kinds and _lamm(tr):
                        put(experiment(tr, folder(d), k, variants=("woHL",)), tr, d, s,
                            model.acc(tr, d, k, gain_scale=0.95, one_shot_penalty=8.0),
                            shots=k, variant="woHL", terms=variant_loss_terms("woHL"))
                    if "init" in kinds and tr == "LAMM":
                        put(experiment(tr, folder(d), k, variants=("random_init",)), tr, d, s,
                            model.acc(tr, d, k, gain_scale=0.9, one_shot_penalty=6.0), shots=k,
                            variant="random_init", label_init="random")
                    if "hl" in kinds and tr == "LAMM" and k == 16:
                        for i, (tag, terms) in enumerate(LOSS_VARIANTS.items()):
                            put(experiment(tr, folder(d), k, variants=(tag,)), tr, d, s,
                                model.acc(tr, d, k, gain_scale=0.96 + 0.005 * i), shots=k, variant=tag, terms=terms)
                    if "backbones" in kinds and tr in ("CoOp", "CoOpLAMM") and k == 16:
                        for bb, shift in BACKBONE_SHIFT.items():
                            if bb == "ViT-B/16":
                                continue
                            # the variant is named after the backbone, as the scripts name it
                            name = BACKBONE_VARIANTS[bb]
                            put(experiment(tr, folder(d), k, variants=(name,)), tr, d, s,
                                model.acc(tr, d, k, shift=shift), shots=k, backbone=bb, variant=name)
        if "incremental" in kinds:
            for tr in ["ZeroshotCLIP"] + [t for t in trainers if t in ("CoOp", "MaPLe", "LAMM")]:
                forget = {"ZeroshotCLIP": 0.0, "CoOp": 12.0, "MaPLe": 6.0, "LAMM": 0.0}[tr]
                k = -1 if tr == "ZeroshotCLIP" else 16
                for s in ([1] if tr == "ZeroshotCLIP" else seeds):
                    set1 = model.acc(tr, d, 16, shift=3.0)
                    set2 = model.acc(tr, d, 16, shift=1.0)
                    base = experiment(tr, folder(d), 16, ("incremental", folder(d), tr))
                    common = dict(shots=k, protocol="incremental")
                    # stage 1 trains on Set 1 (base classes) and is tested on it, then evaluated on Set 2
                    put(f"{base}/stage1_set1", tr, d, s, set1, stage=1, eval_set="set1", subsample="base",
                        train_classes="base", eval_only=tr == "ZeroshotCLIP", **common)
                    put(f"{base}/stage1_set2", tr, d, s, model.acc("ZeroshotCLIP", d, 0, shift=1.0), stage=1,
                        eval_set="set2", subsample="new", train_classes="base", eval_only=True,
                        model_dir=None if tr == "ZeroshotCLIP" else str(Path(root) / base / "stage1_set1"), **common)
                    if tr == "ZeroshotCLIP":
                        continue
                    put(f"{base}/stage2_train", tr, d, s, round((set1 - forget + set2) / 2 - 4.0, 2), stage=2,
                        eval_set="all", train_classes="new", **common)
                    stage2 = str(Path(root) / base / "stage2_train")
                    put(f"{base}/stage2_set1", tr, d, s, round(set1 - forget, 2), stage=2, eval_set="set1",
                        subsample="base", train_classes="new", eval_only=True, model_dir=stage2, **common)
                    put(f"{base}/stage2_set2", tr, d, s, set2, stage=2, eval_set="set2", subsample="new",
                        train_classes="new", eval_only=True, model_dir=stage2, **common)
    imagenet = CATALOG["imagenet"].name
    if "dg" in kinds and imagenet in datasets:
        drop = {"ImageNetV2": 6.0, "ImageNetSketch": 22.0, "ImageNetA": 20.0, "ImageNetR": -6.0}
        for key in DG_TARGETS:
            target = CATALOG[key].name
            put(experiment("ZeroshotCLIP", key, None, ("evaluation", "ZeroshotCLIP")) + f"/{key}", "ZeroshotCLIP", target, 1,
                model.acc("ZeroshotCLIP", imagenet, 0, shift=-drop[target]), shots=-1, eval_only=True,
                protocol="dg", eval_set=key)
            for tr in trainers:
                for s in seeds:
                    source_run = experiment(tr, "imagenet")
                    source = written.get(f"{source_run}/seed{s}")
                    if source is None:
                        continue
                    acc = round(source - drop[target] - float(rng.uniform(0, 2)), 2)
                    put(experiment(tr, key, 16, ("evaluation", tr)) + f"/{key}", tr, target, s, acc, shots=16,
                        protocol="dg", eval_set=key, source=imagenet, eval_only=True,
                        model_dir=str(Path(root) / source_run / f"seed{s}"))
    if "base2new" in kinds:
        for d in datasets:
            zs_base, zs_new = model.acc("ZeroshotCLIP", d, 0, shift=3.0), model.acc("ZeroshotCLIP", d, 0, shift=1.0)
            rel = experiment("ZeroshotCLIP", folder(d), None, ("base2new", folder(d), "ZeroshotCLIP"))
            for split, acc in (("base", zs_base), ("new", zs_new)):
                put(f"{rel}/test_{split}", "ZeroshotCLIP", d, 1, acc, shots=-1, protocol="base2new", eval_set=split,
                    subsample=split, eval_only=True)
            for tr in trainers:
                rel = experiment(tr, folder(d), 16, ("base2new", folder(d), tr))
                for s in seeds:
                    base = model.acc(tr, d, 16, shift=3.0)
                    put(f"{rel}/train_base", tr, d, s, base, shots=16, protocol="base2new", subsample="base")
                    # the trained model evaluated on the base classes again: the same number
                    put(f"{rel}/test_base", tr, d, s, base, shots=16, protocol="base2new", eval_set="base",
                        subsample="base", eval_only=True, model_dir=str(Path(root) / rel / "train_base" / f"seed{s}"))
                    new = zs_new if tr == "LAMM" else round(min(100.0, max(0.0, zs_new + NEW_SHIFT[tr]
                                                                            + float(rng.normal(0, 0.6)))), 2)
                    put(f"{rel}/test_new", tr, d, s, new, shots=16, protocol="base2new", eval_set="new",
                        subsample="new", eval_only=True, model_dir=str(Path(root) / rel / "train_base" / f"seed{s}"))
    if "cross_dataset" in kinds and imagenet in datasets:
        for tr in trainers:
            source_run = experiment(tr, "imagenet")
            for d in datasets:
                if d == imagenet:
                    continue
                for s in seeds:
                    if f"{source_run}/seed{s}" not in written:
                        continue
                    acc = round(max(0.0, model.zs[d] + NEW_SHIFT[tr] / 2 + float(rng.normal(0, 0.6))), 2)
                    put(experiment(tr, folder(d), 16, ("cross_dataset", tr)) + f"/{folder(d)}", tr, d, s, acc, shots=16,
                        protocol="cross_dataset", eval_set=folder(d), source=imagenet, eval_only=True,
                        model_dir=str(Path(root) / source_run / f"seed{s}"))
    return written


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("root", help="folder to write (e.g. /tmp/synthetic_output)")
    parser.add_argument("--datasets", nargs="+", default=None, help="Dassl dataset names (default: the 11)")
    parser.add_argument("--kinds", nargs="+", default=list(KINDS), choices=KINDS)
    parser.add_argument("--rng-seed", type=int, default=0)
    args = parser.parse_args(argv)
    written = make_output(args.root, datasets=args.datasets, kinds=args.kinds, rng_seed=args.rng_seed)
    print(f"wrote {len(written)} synthetic runs under {args.root}")


if __name__ == "__main__":
    main()

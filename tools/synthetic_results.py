"""Write a synthetic ``output/`` folder with every kind of experiment, for tests and docs.

    python -m tools.synthetic_results /tmp/synthetic_output
    python parse_test_res.py /tmp/synthetic_output --plot docs/fewshot_curves.png

The numbers are made up by a smooth formula plus noise (accuracy rises from a per-dataset
zero-shot value towards a ceiling as the shot count grows); they are NOT results of any
training and say nothing about LAMM. Folders and ``results.json`` files follow the layout that
``parse_test_res.py`` expects (``docs/EXPERIMENTS.md``), so the generator also documents it.
"""
import argparse
import json
import math
from pathlib import Path
from typing import Dict, Iterable, Optional, Sequence

import numpy as np

from tools.paper_tables import DG_TARGETS, FEWSHOT_DATASETS

DATASET_FOLDERS = {name: folder for name, folder, _ in FEWSHOT_DATASETS + DG_TARGETS}
CONFIGS = {
    "CoOp": "vit_b16_ep50_ctxv1", "LAMM": "vit_b16_ep50_ctxv1", "CoOpLAMM": "vit_b16_ep50_ctxv1",
    "MaPLe": "vit_b16_c2_ep5_batch4_2ctx", "MaPLeLAMM": "vit_b16_c2_ep5_batch4_2ctx",
}
EPOCHS = {"MaPLe": 5, "MaPLeLAMM": 5}
# Share of the gap between zero-shot and the dataset's ceiling that each method closes.
GAIN = {"CoOp": 0.70, "LAMM": 0.80, "CoOpLAMM": 0.85, "MaPLe": 0.75, "MaPLeLAMM": 0.82}
BACKBONE_SHIFT = {"RN50": -9.0, "RN101": -7.0, "ViT-B/32": -4.5, "ViT-B/16": 0.0}
BACKBONE_CONFIG = {"RN50": "rn50", "RN101": "rn101", "ViT-B/32": "vit_b32", "ViT-B/16": "vit_b16"}
LOSS_TAGS = ("ce_wc", "ce_cos", "ce_kd", "ce_wc_cos", "ce_wc_kd", "ce_cos_kd")
KINDS = ("fewshot", "woHL", "hl", "init", "backbones", "incremental", "dg")


def write_result(root, rel: str, seed: int, accuracy: float, **meta) -> Path:
    """``<root>/<rel>/seed<seed>/results.json`` with the keys the trainers write."""
    run = Path(root) / rel / f"seed{seed}"
    run.mkdir(parents=True, exist_ok=True)
    content = {"accuracy": accuracy, "split": "test", "seed": seed, "subsample_classes": "all",
               "backbone": "ViT-B/16", "eval_only": False, **meta}
    (run / "results.json").write_text(json.dumps(content, indent=2, sort_keys=True))
    return run


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
    datasets = list(datasets or [d for d, _, _ in FEWSHOT_DATASETS])
    kinds = set(kinds)
    rng = np.random.default_rng(rng_seed)
    model = _Model(rng, datasets + [d for d, _, _ in DG_TARGETS])
    written: Dict[str, float] = {}

    def put(rel, seed, acc, **meta):
        write_result(root, rel, seed, acc, **meta)
        written[f"{rel}/seed{seed}"] = acc

    for d in datasets:
        folder = DATASET_FOLDERS.get(d, d.lower())
        put(f"{folder}/ZeroshotCLIP/vit_b16", 1, model.acc("ZeroshotCLIP", d, 0),
            trainer="ZeroshotCLIP", dataset=d, num_shots=-1, epoch=0)
        for tr in trainers:
            for k in shots:
                for s in seeds:
                    common = dict(trainer=tr, dataset=d, num_shots=k, epoch=EPOCHS.get(tr, 50))
                    if "fewshot" in kinds:
                        put(f"{folder}/{tr}/{CONFIGS[tr]}_{k}shots", s, model.acc(tr, d, k), **common)
                    if "woHL" in kinds and tr.endswith("LAMM"):
                        put(f"{folder}/{tr}/{CONFIGS[tr]}_{k}shots_woHL", s,
                            model.acc(tr, d, k, gain_scale=0.95, one_shot_penalty=8.0), **common)
                    if "init" in kinds and tr == "LAMM":
                        put(f"{folder}/{tr}/{CONFIGS[tr]}_{k}shots_random_init", s,
                            model.acc(tr, d, k, gain_scale=0.9, one_shot_penalty=6.0), **common)
                    if "hl" in kinds and tr == "LAMM" and k == 16:
                        for i, tag in enumerate(LOSS_TAGS):
                            put(f"{folder}/{tr}/{CONFIGS[tr]}_{k}shots_{tag}", s,
                                model.acc(tr, d, k, gain_scale=0.96 + 0.005 * i), **common)
                    if "backbones" in kinds and tr in ("CoOp", "CoOpLAMM") and k == 16:
                        for bb, shift in BACKBONE_SHIFT.items():
                            if bb == "ViT-B/16":
                                continue
                            cfg = CONFIGS[tr].replace("vit_b16", BACKBONE_CONFIG[bb])
                            put(f"{folder}/{tr}/{cfg}_{k}shots", s, model.acc(tr, d, k, shift=shift),
                                **{**common, "backbone": bb})
        if "incremental" in kinds:
            for tr in ["ZeroshotCLIP"] + [t for t in trainers if t in ("CoOp", "MaPLe", "LAMM")]:
                cfg = "vit_b16" if tr == "ZeroshotCLIP" else f"{CONFIGS[tr]}_16shots"
                forget = {"ZeroshotCLIP": 0.0, "CoOp": 12.0, "MaPLe": 6.0, "LAMM": 0.0}[tr]
                for s in ([1] if tr == "ZeroshotCLIP" else seeds):
                    set1 = model.acc(tr, d, 16, shift=3.0)
                    set2 = model.acc(tr, d, 16, shift=1.0)
                    base = f"incremental/{folder}/{tr}/{cfg}"
                    common = dict(trainer=tr, dataset=d, num_shots=16 if tr != "ZeroshotCLIP" else -1)
                    # the folders of scripts/incremental.sh (zero-shot: stage1_set1 and stage1_set2 only)
                    put(f"{base}/stage1_set1", s, set1, subsample_classes="base", **common)
                    put(f"{base}/stage1_set2", s, model.acc("ZeroshotCLIP", d, 0, shift=1.0),
                        subsample_classes="new", eval_only=True, **common)
                    if tr == "ZeroshotCLIP":
                        continue
                    put(f"{base}/stage2_train", s, round((set1 - forget + set2) / 2 - 4.0, 2),
                        subsample_classes="all", **common)
                    put(f"{base}/stage2_set1", s, round(set1 - forget, 2), subsample_classes="base", eval_only=True,
                        **common)
                    put(f"{base}/stage2_set2", s, set2, subsample_classes="new", eval_only=True, **common)
    if "dg" in kinds and "ImageNet" in datasets:
        drop = {"ImageNetV2": 6.0, "ImageNetSketch": 22.0, "ImageNetA": 20.0, "ImageNetR": -6.0}
        for target, folder, _ in DG_TARGETS:
            put(f"{folder}/ZeroshotCLIP/vit_b16", 1, model.acc("ZeroshotCLIP", "ImageNet", 0, shift=-drop[target]),
                trainer="ZeroshotCLIP", dataset=target, num_shots=-1, epoch=0)
            for tr in trainers:
                for s in seeds:
                    source = written.get(f"imagenet/{tr}/{CONFIGS[tr]}_16shots/seed{s}")
                    if source is None:
                        continue
                    acc = round(source - drop[target] - float(rng.uniform(0, 2)), 2)
                    put(f"evaluation/{tr}/{CONFIGS[tr]}_16shots/{folder}", s, acc, trainer=tr, dataset=target,
                        num_shots=16, epoch=EPOCHS.get(tr, 50), eval_only=True)
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

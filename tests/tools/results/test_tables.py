"""The paper-shaped tables of parse_test_res.py (tools/results/tables.py) on synthetic output folders.

Every expected number is computed here with numpy from the accuracies the test writes; the
published numbers are read from docs/paper_results.csv, never typed in. Runs are written as
the trainers write them (a ``trainers.record.Record`` per run); the tables read the records
only, so the folder names here are arbitrary where a test says so.
"""
import csv
import hashlib
import io
import json
from pathlib import Path

import numpy as np
import pytest

import parse_test_res
from datasets.catalog import CATALOG, FEWSHOT_BENCHMARKS
from tests.fixtures import REPO_ROOT
from tools.results.classify import ALL_TERMS, CE_ONLY, PAPER_DATASETS, classify, describe
from tools.results.collect import find_experiments
from tools.results.paper import PAPER_RESULTS, PaperResults
from tools.results.plots import fewshot_grid
from tools.results.tables import Options
from tools.runs import Run
from tools.synthetic.results import variant_loss_terms
from trainers.record import Record, resolve_protocol

FOLDER = {info.name: key for key, info in CATALOG.items()}  # Dassl NAME -> config key, as the scripts name folders
N = len(FEWSHOT_BENCHMARKS)  # the paper's datasets, which every average should cover by default
# --------------------------------------------------------------------------- a complete few-shot sweep
SHOTS = (1, 4, 16)
SEEDS = (1, 2, 3)
DATASETS = ("Caltech101", "OxfordPets", "EuroSAT")


# --------------------------------------------------------------------------- helpers
def config(trainer, shots):
    """The config part of a run folder's name, as the scripts write it (``vit_b16_ep50_ctxv1_16shots``)."""
    return Run(trainer, "", shots, 1, "", "").experiment


def _record(seed, acc, meta):
    """The record a run of these fields writes; ``trainer`` absent: a record that says nothing about the run."""
    if meta.get("trainer") is None:
        return {"accuracy": acc, "seed": seed, **meta}
    meta = dict(meta, method=meta.pop("trainer"))
    lamm = meta["method"].endswith("LAMM")
    variant, shots = meta.get("variant", ""), meta.get("num_shots", 16)
    weights = {"ce": 1.0, "wc": 1.0 / max(shots, 1), "cos": 1.0, "kd": 1.0}
    dataset_keys = {"SUBSAMPLE_CLASSES": meta.get("subsample_classes", "all")}
    fields = {"seed": seed, "accuracy": acc, "epoch": 50, "variant": variant,
              "protocol": resolve_protocol({"RUN": {"PROTOCOL": ""}, "DATASET": dataset_keys}),
              "loss": {t: weights[t] for t in (variant_loss_terms(variant) if lamm else ("ce",))},
              "labels": {"tokens": 1, "init": "random" if variant == "random_init" else "word"} if lamm else None}
    fields.update(meta)
    ident = {k: fields.get(k) for k in ("method", "dataset", "num_shots", "variant", "backbone", "subsample_classes",
                                        "eval_set", "stage", "protocol", "preset", "untrained", "eval_only")}
    fields.setdefault("config_fingerprint", hashlib.sha256(json.dumps(ident, sort_keys=True).encode()).hexdigest()[:16])
    return Record(**fields).to_dict()


def put(root, rel, seed, acc, **meta):
    """One run as the trainers write it: <root>/<rel>/seed<S>/results.json."""
    run = Path(root) / rel / f"seed{seed}"
    run.mkdir(parents=True, exist_ok=True)
    (run / "results.json").write_text(json.dumps(_record(seed, acc, meta)))
    return run


def fewshot(root, trainer, dataset, shots, seed, acc, tag="", **meta):
    rel = f"{FOLDER[dataset]}/{trainer}/{config(trainer, shots)}" + (f"_{tag}" if tag else "")
    return put(root, rel, seed, acc, trainer=trainer, dataset=dataset, num_shots=shots, variant=tag, **meta)


def zeroshot(root, dataset, acc, **meta):
    return put(root, f"{FOLDER[dataset]}/ZeroshotCLIP/vit_b16", 1, acc, trainer="ZeroshotCLIP", dataset=dataset,
               num_shots=-1, epoch=0, eval_only=True, untrained=True, **meta)


def cli(*argv, capsys):
    code = parse_test_res.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def json_tables(root, *argv, capsys):
    code, out, err = cli(root, "--format", "json", *argv, capsys=capsys)
    assert code == 0, err
    return {t["table"]: t for t in json.loads(out)}


def cells(table):
    """{row label: {column: cell}}"""
    return {row["label"]: row["cells"] for row in table["rows"]}


def paper_rows():
    with open(PAPER_RESULTS, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def paper_value(experiment, trainer, dataset, shots, metric="accuracy", variant="", table_prefix="Table"):
    hits = [float(r["value"]) for r in paper_rows()
            if r["experiment"] == experiment and r["trainer"] == trainer and r["variant"] == variant
            and r["dataset"] == dataset and r["shots"] == str(shots) and r["metric"] == metric
            and r["table"].startswith(table_prefix)]
    assert len(hits) == 1, (experiment, trainer, dataset, shots, metric, hits)
    return hits[0]


@pytest.fixture
def sweep(tmp_path):
    """ZeroshotCLIP + LAMM + CoOp (+ LAMM w/o HL) on 3 datasets, 3 shot counts, 3 seeds."""
    rng = np.random.default_rng(0)
    acc = {}
    for d in DATASETS:
        acc[("ZeroshotCLIP", d, None, 1)] = round(float(rng.uniform(40, 90)), 2)
        zeroshot(tmp_path, d, acc[("ZeroshotCLIP", d, None, 1)])
        for tr, tag in (("LAMM", ""), ("LAMM", "woHL"), ("CoOp", "")):
            for k in SHOTS:
                for s in SEEDS:
                    a = round(float(rng.uniform(50, 99)), 2)
                    acc[(tr + tag, d, k, s)] = a
                    fewshot(tmp_path, tr, d, k, s, a, tag=tag)
    return tmp_path, acc


def mean_over_seeds(acc, method, d, k):
    return np.mean([acc[(method, d, k, s)] for s in SEEDS])


def test_fewshot_table_method_by_shots(sweep, capsys):
    root, acc = sweep
    tables = json_tables(root, "--table", "fewshot", "--datasets", "found", capsys=capsys)
    rows = cells(tables["fewshot"])
    assert list(rows) == ["Zero-shot CLIP", "LAMM (w/o HL)", "LAMM", "CoOp"]  # the paper's row order
    assert tables["fewshot"]["columns"] == [str(k) for k in SHOTS]
    for method, label in (("LAMMwoHL", "LAMM (w/o HL)"), ("LAMM", "LAMM"), ("CoOp", "CoOp")):
        for k in SHOTS:
            cell = rows[label][str(k)]
            expected = np.mean([mean_over_seeds(acc, method, d, k) for d in DATASETS])
            per_seed = [np.mean([acc[(method, d, k, s)] for d in DATASETS]) for s in SEEDS]
            assert cell["mean"] == pytest.approx(expected)
            assert cell["std"] == pytest.approx(np.std(per_seed))  # over seeds of the per-seed averages
            assert cell["coverage"] == [3, 3] and cell["flags"] == []
    zs = np.mean([acc[("ZeroshotCLIP", d, None, 1)] for d in DATASETS])
    assert [rows["Zero-shot CLIP"][str(k)]["mean"] for k in SHOTS] == pytest.approx([zs] * len(SHOTS))


def test_fewshot_average_over_incomplete_datasets_is_flagged(sweep, capsys):
    root, acc = sweep
    code, out, _ = cli(root, "--table", "fewshot", capsys=capsys)  # expected: the paper's 11 datasets
    assert code == 0
    (lamm16,) = [l for l in out.splitlines() if l.startswith("|") and l.split("|")[1].strip() == "LAMM"]
    expected = np.mean([mean_over_seeds(acc, "LAMM", d, 16) for d in DATASETS])
    assert f"{expected:.2f}" in lamm16 and f"[3/{N}]" in lamm16
    n_cells = 4 * len(SHOTS)  # every cell misses the same datasets: one note for all
    missing = [l for l in PAPER_DATASETS if l not in DATASETS]
    assert f"{n_cells} cells: average over 3 of {N} datasets (missing: ImageNet, StanfordCars" in out
    assert len(missing) == N - len(DATASETS)
    tables = json_tables(root, "--table", "fewshot", capsys=capsys)
    cell = cells(tables["fewshot"])["LAMM"]["16"]
    assert cell["coverage"] == [3, N] and len(cell["missing_datasets"]) == N - len(DATASETS)


def test_missing_seed_and_dataset_flags(sweep, capsys):
    root, acc = sweep
    # CoOp on EuroSAT at 4 shots: seed 3 never ran; at 16 shots the whole dataset is absent.
    import shutil

    shutil.rmtree(root / "eurosat/CoOp/vit_b16_ep50_ctxv1_4shots/seed3")
    for s in SEEDS:
        shutil.rmtree(root / f"eurosat/CoOp/vit_b16_ep50_ctxv1_16shots/seed{s}")
    (root / "eurosat/CoOp/vit_b16_ep50_ctxv1_16shots").rmdir()
    # An unfinished run: a log without the end signal.
    (root / "oxford_pets/CoOp/vit_b16_ep50_ctxv1_1shots/seed3/results.json").unlink()
    (root / "oxford_pets/CoOp/vit_b16_ep50_ctxv1_1shots/seed3/log.txt").write_text("epoch [1/50]\n")

    rows = cells(json_tables(root, "--table", "fewshot", "--datasets", "found", capsys=capsys)["fewshot"])
    c4 = rows["CoOp"]["4"]
    e4 = [np.mean([acc[("CoOp", "EuroSAT", 4, s)] for s in (1, 2)])] + \
         [mean_over_seeds(acc, "CoOp", d, 4) for d in ("Caltech101", "OxfordPets")]
    assert c4["mean"] == pytest.approx(np.mean(e4))
    assert c4["seeds"] == ["1", "2"]  # the spread only uses seeds that every dataset has
    assert any("eurosat/CoOp/vit_b16_ep50_ctxv1_4shots: seed3 absent" in f for f in c4["flags"])
    c16 = rows["CoOp"]["16"]
    assert c16["coverage"] == [2, 3] and c16["missing_datasets"] == ["EuroSAT"]
    assert any("unfinished" in f for f in rows["CoOp"]["1"]["flags"])

    code, out, _ = cli(root, "--table", "fewshot", "--datasets", "found", capsys=capsys)
    (coop,) = [l for l in out.splitlines() if l.startswith("|") and l.split("|")[1].strip() == "CoOp"]
    assert coop.count("*") == 2 and "[2/3]" in coop
    assert "*: some seeds are absent or unfinished:" in out
    assert "CoOp, 16: average over 2 of 3 datasets (missing: EuroSAT)" in out


def test_expected_seeds_option(sweep, capsys):
    root, _ = sweep
    rows = cells(json_tables(root, "--table", "fewshot", "--seeds", "1", "2", "3", "4", capsys=capsys)["fewshot"])
    assert any("seed4 absent" in f for f in rows["LAMM"]["1"]["flags"])
    assert rows["Zero-shot CLIP"]["1"]["flags"] == []  # zero-shot runs once, never flagged


def test_datasets_table_at_one_shot_count(sweep, capsys):
    root, acc = sweep
    tables = json_tables(root, "--table", "datasets", capsys=capsys)
    assert list(tables) == ["datasets_16shots"]  # default: the largest shot count
    rows = cells(tables["datasets_16shots"])
    assert list(rows) == ["Caltech101", "OxfordPets", "EuroSAT", "Average"]  # CoOp's dataset order
    for d in DATASETS:
        vals = [acc[("LAMM", d, 16, s)] for s in SEEDS]
        assert rows[d]["LAMM"]["mean"] == pytest.approx(np.mean(vals))
        assert rows[d]["LAMM"]["std"] == pytest.approx(np.std(vals))
        assert rows[d]["LAMM"]["per_seed"] == {str(s): v for s, v in zip(SEEDS, vals)}
        assert rows[d]["Zero-shot CLIP"]["mean"] == acc[("ZeroshotCLIP", d, None, 1)]
    assert rows["Average"]["CoOp"]["mean"] == pytest.approx(
        np.mean([mean_over_seeds(acc, "CoOp", d, 16) for d in DATASETS]))
    tables = json_tables(root, "--table", "datasets", "--shots", "1", "4", capsys=capsys)
    assert list(tables) == ["datasets_1shots", "datasets_4shots"]
    assert cells(tables["datasets_4shots"])["EuroSAT"]["LAMM (w/o HL)"]["mean"] == pytest.approx(
        mean_over_seeds(acc, "LAMMwoHL", "EuroSAT", 4))


def test_markdown_and_csv(sweep, capsys):
    root, acc = sweep
    code, out, _ = cli(root, "--format", "markdown", "--table", "fewshot,datasets", capsys=capsys)
    assert out.startswith("### Few-shot accuracy (%) by number of shots")
    assert "### Accuracy (%) per dataset at 16 shots" in out
    header = [l for l in out.splitlines() if l.startswith("| method")][0]
    assert [c.strip() for c in header.strip("|").split("|")] == ["method", "1", "4", "16"]
    assert "- [k/N]: the average covers k of the N expected datasets." in out

    code, out, _ = cli(root, "--format", "csv", "--table", "all", capsys=capsys)
    rows = list(csv.DictReader(io.StringIO(out)))
    got = {(r["table"], r["row"], r["column"]): r for r in rows}
    r = got[("datasets_16shots", "OxfordPets", "CoOp")]
    assert float(r["mean"]) == pytest.approx(mean_over_seeds(acc, "CoOp", "OxfordPets", 16))
    assert r["seeds"] == "1 2 3" and r["n"] == "3"
    r = got[("fewshot", "LAMM", "4")]
    assert r["datasets"] == f"3/{N}" and r["missing_datasets"].startswith("ImageNet")
    runs = [r for r in rows if r["table"] == "runs"]  # the per-experiment list in the same shape
    assert len(runs) == len(find_experiments(root))


def test_default_output_list_then_tables(sweep, capsys):
    root, _ = sweep
    (root / "scratch" / "notes" / "seed1").mkdir(parents=True)
    (root / "scratch" / "notes" / "seed1" / "results.json").write_text('{"accuracy": 12.5}')
    code, out, _ = cli(root, capsys=capsys)
    assert code == 0
    code, runs_only, _ = cli(root, "--table", "runs", capsys=capsys)
    assert out.startswith(runs_only.rstrip("\n"))  # the per-experiment list, unchanged, comes first
    assert out.index("Few-shot accuracy") < out.index("per dataset at 16 shots")
    assert out.rstrip().splitlines()[-1] == "In no table above (what each table reads: docs/EXPERIMENTS.md): scratch/notes"
    # csv/json keep printing the per-experiment list unless tables are named
    code, out, _ = cli(root, "--format", "json", capsys=capsys)
    assert {r["experiment"] for r in json.loads(out)} == {e.experiment for e in find_experiments(root)}


def test_unrecognised_layout_prints_the_experiment_list(tmp_path, capsys):
    for s, a in ((1, 60.0), (2, 62.0)):
        put(tmp_path, "a/cfg", s, a)
    code, out, _ = cli(tmp_path, capsys=capsys)
    assert out.splitlines()[0].startswith("| experiment") and "61.00 ± 1.00" in out
    code, out, err = cli(tmp_path, "--table", "incremental", capsys=capsys)
    assert "no results for the 'incremental' table" in err


def test_unknown_table_name_is_rejected(sweep, capsys):
    root, _ = sweep
    with pytest.raises(SystemExit) as e:
        parse_test_res.main([str(root), "--table", "fewshots"])
    assert e.value.code == 2
    assert "--table: unknown table 'fewshots' (choose from auto, all, fewshot, datasets" in capsys.readouterr().err


# --------------------------------------------------------------------------- published numbers
def test_paper_rows_and_columns(sweep, capsys):
    root, _ = sweep
    code, out, _ = cli(root, "--table", "fewshot", "--paper", capsys=capsys)
    line = [l for l in out.splitlines() if l.startswith("| LAMM (w/o HL) (paper)")][0]
    values = [c.strip() for c in line.strip("|").split("|")][1:]
    assert values == [f"{paper_value('fewshot', 'LAMM', 'average', k, variant='woHL'):.2f}" for k in SHOTS]
    assert "paper (Table 3): LAMM paper" in out

    tables = json_tables(root, "--table", "datasets", "--paper", capsys=capsys)
    rows = cells(tables["datasets_16shots"])
    fig = paper_value("fewshot", "LAMM", "EuroSAT", 16, table_prefix="Fig")
    assert rows["EuroSAT"]["LAMM"]["paper"]["value"] == fig
    assert rows["EuroSAT"]["LAMM"]["paper"]["table"] == "Fig. 3"
    # the average row takes the exact Table 3 number over the figure reading
    assert rows["Average"]["CoOp"]["paper"]["value"] == paper_value("fewshot", "CoOp", "average", 16)
    code, out, _ = cli(root, "--table", "datasets", "--paper", capsys=capsys)
    assert "| LAMM (paper) |" not in out and "LAMM (paper)" in out.splitlines()[2]  # a column
    assert f"{fig:.2f} (F)" in out


def test_paper_numbers_only_for_vit_b16(tmp_path):
    paper = PaperResults.load()
    for d in DATASETS:
        for s in SEEDS:
            fewshot(tmp_path, "CoOp", d, 16, s, 70.0 + s, backbone="RN50")
    entries = classify(find_experiments(tmp_path))
    (m,) = {e.method for e in entries}
    assert m.backbone == "RN50" and paper.get("fewshot", m, "average", 16) is None


def test_paper_file_is_consistent():
    """Sums in the paper's tables add up; figure readings agree with the exact tables."""
    rows = paper_rows()
    assert all(None not in r and None not in r.values() for r in rows)  # every row has every column
    assert all(r["source"] and r["table"] and float(r["value"]) == float(r["value"]) for r in rows)
    for tr in {r["trainer"] for r in rows if r["experiment"] == "dg"}:
        src, v2, sk = (paper_value("dg", tr, d, "" if tr == "ZeroshotCLIP" else 16)
                       for d in ("ImageNet", "ImageNetV2", "ImageNetSketch"))
        assert paper_value("dg", tr, "average", "" if tr == "ZeroshotCLIP" else 16) == pytest.approx(
            np.mean([src, v2, sk]), abs=0.01)
    for tr in ("ZeroshotCLIP", "CoOp", "MaPLe", "LAMM"):
        k = "" if tr == "ZeroshotCLIP" else 16
        for metric in ("set1", "set2"):
            vals = [float(r["value"]) for r in rows if r["experiment"] == "incremental" and r["trainer"] == tr
                    and r["metric"] == metric and r["dataset"] != "average"]
            assert sorted({r["dataset"] for r in rows if r["experiment"] == "incremental"} - {"average"}) == \
                sorted(PAPER_DATASETS)
            assert paper_value("incremental", tr, "average", k, metric) == pytest.approx(np.mean(vals), abs=0.01)
        assert paper_value("incremental", tr, "average", k, "degradation") == pytest.approx(
            paper_value("incremental", tr, "average", k, "set1")
            - paper_value("incremental", tr, "average", k, "set1_stage1"), abs=0.01)
    for tr in ("ZeroshotCLIP", "CoOp", "CoCoOp", "MaPLe"):  # MaPLe's base-to-new HM = 2bn / (b + n)
        k = "" if tr == "ZeroshotCLIP" else 16
        b, n, h = (paper_value("base2new", tr, "average", k, m, table_prefix="MaPLe") for m in ("base", "new", "hm"))
        assert h == pytest.approx(2 * b * n / (b + n), abs=0.01)
    for k in (1, 2, 4, 8, 16):  # Table 5's word column and Table 4's extremes repeat Table 3
        assert paper_value("init", "LAMM", "average", k) == paper_value("fewshot", "LAMM", "average", k)
    assert paper_value("hl", "LAMM", "average", 16, variant="ce") == \
        paper_value("fewshot", "LAMM", "average", 16, variant="woHL")
    assert paper_value("hl", "LAMM", "average", 16, variant="ce+wc+cos+kd") == \
        paper_value("fewshot", "LAMM", "average", 16)
    # The figure's per-dataset 16-shot values average to Table 3 within the reading error
    # (MaPLe+LAMM is the worst: 80.64 vs 81.18).
    for tr in ("CoOp", "MaPLe", "LAMM", "CoOpLAMM", "MaPLeLAMM"):
        vals = [float(r["value"]) for r in rows if r["table"] == "Fig. 3" and r["trainer"] == tr
                and r["shots"] == "16" and r["dataset"] != "average"]
        assert len(vals) == N
        assert np.mean(vals) == pytest.approx(paper_value("fewshot", tr, "average", 16), abs=0.6)


# --------------------------------------------------------------------------- other experiment kinds
def test_incremental_table(tmp_path, capsys):
    rng = np.random.default_rng(1)
    acc = {}
    for d in ("Caltech101", "DescribableTextures"):
        for tr in ("ZeroshotCLIP", "CoOp", "LAMM"):
            cfg = config(tr, 16)
            for s in ((1,) if tr == "ZeroshotCLIP" else SEEDS):
                # the folders of scripts/incremental.sh; zero-shot has nothing to train: stage 1 only
                folders = ("stage1_set1", "stage1_set2") if tr == "ZeroshotCLIP" else \
                    ("stage1_set1", "stage1_set2", "stage2_train", "stage2_set1", "stage2_set2")
                for folder in folders:
                    a = round(float(rng.uniform(40, 95)), 2)
                    acc[(tr, d, folder, s)] = a
                    stage, eval_set = folder.split("_")
                    put(tmp_path, f"incremental/{FOLDER[d]}/{tr}/{cfg}/{folder}", s, a, trainer=tr, dataset=d,
                        num_shots=16 if tr != "ZeroshotCLIP" else -1, protocol="incremental",
                        stage=int(stage[-1]), eval_set="all" if eval_set == "train" else eval_set,
                        train_classes="new" if stage == "stage2" else "base",
                        eval_only=eval_set != "train" and folder != "stage1_set1")
    tables = json_tables(tmp_path, "--table", "incremental", "--datasets", "found", "--paper", capsys=capsys)
    rows = cells(tables["incremental"])
    assert tables["incremental"]["columns"] == ["Caltech101", "DTD", "Average"]
    for tr, label in (("CoOp", "CoOp"), ("LAMM", "LAMM")):
        for d, col in (("Caltech101", "Caltech101"), ("DescribableTextures", "DTD")):
            s1 = [acc[(tr, d, "stage2_set1", s)] for s in SEEDS]
            s2 = [acc[(tr, d, "stage2_set2", s)] for s in SEEDS]
            before = [acc[(tr, d, "stage1_set1", s)] for s in SEEDS]
            assert rows[f"{label}: Set1"][col]["mean"] == pytest.approx(np.mean(s1))
            assert rows[f"{label}: Set2"][col]["mean"] == pytest.approx(np.mean(s2))
            assert rows[f"{label}: Set1, stage 1"][col]["mean"] == pytest.approx(np.mean(before))
            diff = np.subtract(s1, before)
            assert rows[f"{label}: Degradation"][col]["mean"] == pytest.approx(np.mean(diff))
            assert rows[f"{label}: Degradation"][col]["std"] == pytest.approx(np.std(diff))  # paired by seed
        per_ds = [np.mean([acc[(tr, d, "stage2_set1", s)] - acc[(tr, d, "stage1_set1", s)] for s in SEEDS])
                  for d in ("Caltech101", "DescribableTextures")]
        assert rows[f"{label}: Degradation"]["Average"]["mean"] == pytest.approx(np.mean(per_ds))
        for extra, folder in (("Set2, stage 1", "stage1_set2"), ("Set1+2, stage 2", "stage2_train")):
            assert rows[f"{label}: {extra}"]["DTD"]["mean"] == pytest.approx(
                np.mean([acc[(tr, "DescribableTextures", folder, s)] for s in SEEDS]))
    zs = rows["Zero-shot CLIP: Degradation"]
    assert zs["Caltech101"]["mean"] == 0 and zs["Average"]["mean"] == 0
    assert rows["Zero-shot CLIP: Set2"]["DTD"]["mean"] == acc[("ZeroshotCLIP", "DescribableTextures", "stage1_set2", 1)]
    assert "Zero-shot CLIP: Set2, stage 1" not in rows  # the same number as its Set2 row
    assert not [e for e in classify(find_experiments(tmp_path)) if e.kind != "incremental"]
    assert rows["CoOp: Set1"]["Caltech101"]["paper"]["value"] == paper_value("incremental", "CoOp", "Caltech101",
                                                                              16, "set1")
    assert rows["CoOp: Degradation"]["Average"]["paper"]["value"] == paper_value(
        "incremental", "CoOp", "average", 16, "degradation")


def test_incremental_from_results_json_keys(tmp_path):
    """stage / eval_set / variant come from the record; the folder name says nothing."""
    put(tmp_path, "cil/whatever/b", 1, 80.0, trainer="LAMM", dataset="Caltech101", num_shots=16, stage=2,
        eval_set="set1", variant="a", protocol="incremental")
    put(tmp_path, "old/style", 1, 80.0, trainer="LAMM", dataset="Caltech101", num_shots=16, stage=1,
        eval_set="set2", record_version=None, protocol=None)  # older code: no protocol, no table
    (e, old) = classify(find_experiments(tmp_path))  # sorted by folder: cil/ before old/
    assert (e.kind, e.stage, e.eval_set, e.method.variant) == ("incremental", 2, 1, "a")
    assert (old.kind, old.method) == (None, None)


def test_dg_table(tmp_path, capsys):
    rng = np.random.default_rng(2)
    acc = {}
    for tr in ("LAMM", "CoOp"):
        for s in SEEDS:
            acc[(tr, "ImageNet", s)] = a = round(float(rng.uniform(65, 75)), 2)
            fewshot(tmp_path, tr, "ImageNet", 16, s, a)
            for d in ("ImageNetV2", "ImageNetSketch", "ImageNetA"):  # -R not run
                acc[(tr, d, s)] = a = round(float(rng.uniform(40, 70)), 2)
                put(tmp_path, f"evaluation/{tr}/{config(tr, 16)}/{FOLDER[d]}", s, a, trainer=tr, dataset=d,
                    num_shots=16, eval_only=True, protocol="dg", source_dataset="ImageNet", eval_set=FOLDER[d])
    acc[("ZeroshotCLIP", "ImageNet", 1)] = 66.5
    zeroshot(tmp_path, "ImageNet", 66.5)
    acc[("ZeroshotCLIP", "ImageNetV2", 1)] = 60.5
    zeroshot(tmp_path, "ImageNetV2", 60.5)

    tables = json_tables(tmp_path, "--table", "dg", "--paper", capsys=capsys)
    t = tables["dg"]
    assert t["columns"] == ["ImageNet", "-V2", "-Sketch", "-A", "Avg targets", "Avg (ImageNet, -V2, -Sketch)"]
    rows = cells(t)
    assert list(rows) == ["Zero-shot CLIP", "LAMM", "CoOp"]

    def m(tr, d):
        return np.mean([acc[(tr, d, s)] for s in SEEDS])

    for tr in ("LAMM", "CoOp"):
        assert rows[tr]["ImageNet"]["mean"] == pytest.approx(m(tr, "ImageNet"))
        assert rows[tr]["-Sketch"]["mean"] == pytest.approx(m(tr, "ImageNetSketch"))
        targets = [m(tr, d) for d in ("ImageNetV2", "ImageNetSketch", "ImageNetA")]
        assert rows[tr]["Avg targets"]["mean"] == pytest.approx(np.mean(targets))
        assert rows[tr]["Avg targets"]["coverage"] == [3, 4]
        assert rows[tr]["Avg (ImageNet, -V2, -Sketch)"]["mean"] == pytest.approx(
            np.mean([m(tr, "ImageNet"), m(tr, "ImageNetV2"), m(tr, "ImageNetSketch")]))
    assert rows["Zero-shot CLIP"]["-V2"]["mean"] == 60.5 and rows["Zero-shot CLIP"]["-A"]["mean"] is None
    assert rows["LAMM"]["-V2"]["paper"]["value"] == paper_value("dg", "LAMM", "ImageNetV2", 16)
    assert rows["CoOp"]["Avg (ImageNet, -V2, -Sketch)"]["paper"]["value"] == paper_value("dg", "CoOp", "average", 16)
    code, out, _ = cli(tmp_path, "--table", "dg", capsys=capsys)
    assert "average over 3 of 4 datasets (missing: -R)" in out


def test_hl_and_init_tables(tmp_path, capsys):
    rng = np.random.default_rng(3)
    acc = {}
    tags = {"": ALL_TERMS, "woHL": CE_ONLY, "ce_wc": {"ce", "wc"}, "ce_cos_kd": {"ce", "cos", "kd"}}
    for d in ("Caltech101", "OxfordPets"):
        for s in SEEDS:
            for tag in tags:
                acc[(tag, d, 16, s)] = a = round(float(rng.uniform(60, 95)), 2)
                fewshot(tmp_path, "LAMM", d, 16, s, a, tag=tag)
            for k in (1, 16):
                acc[("random_init", d, k, s)] = a = round(float(rng.uniform(40, 90)), 2)
                fewshot(tmp_path, "LAMM", d, k, s, a, tag="random_init")
            acc[("", d, 1, s)] = a = round(float(rng.uniform(40, 90)), 2)
            fewshot(tmp_path, "LAMM", d, 1, s, a)
    # a loss variant named by overrides: the record's "loss" says which terms were on
    fewshot(tmp_path, "LAMM", "Caltech101", 16, 1, 50.0, tag="TRAINER.LAMM.LAMBDA_KD-0",
            loss={"ce": 1.0, "wc": 0.0625, "cos": 1.0})

    def avg(tag, k, ds=("Caltech101", "OxfordPets")):
        return np.mean([np.mean([acc[(tag, d, k, s)] for s in SEEDS]) for d in ds])

    tables = json_tables(tmp_path, "--table", "hl,init", "--datasets", "found", "--paper", capsys=capsys)
    hl = tables["hl"]
    assert hl["columns"] == ["CE", "WC", "COS", "KD", "LAMM"]
    rows = cells(hl)
    assert list(rows) == ["CE", "CE+WC+COS+KD", "CE+COS+KD", "CE+WC+COS", "CE+WC"]  # the paper's order first
    assert rows["CE+WC"]["LAMM"]["mean"] == pytest.approx(avg("ce_wc", 16))
    assert rows["CE"]["LAMM"]["mean"] == pytest.approx(avg("woHL", 16))
    assert (rows["CE+WC"]["WC"], rows["CE+WC"]["COS"]) == ("✓", "")
    assert rows["CE+WC+COS"]["LAMM"]["mean"] == 50.0 and rows["CE+WC+COS"]["LAMM"]["coverage"] == [1, 2]
    assert rows["CE+WC"]["LAMM"]["paper"]["value"] == paper_value("hl", "LAMM", "average", 16, variant="ce+wc")

    init = cells(tables["init"])
    assert list(init) == ["1-shot", "16-shot"]
    for k in (1, 16):
        assert init[f"{k}-shot"]["random"]["mean"] == pytest.approx(avg("random_init", k))
        assert init[f"{k}-shot"]["words"]["mean"] == pytest.approx(avg("", k))
        assert init[f"{k}-shot"]["random"]["paper"]["value"] == paper_value("init", "LAMM", "average", k,
                                                                            variant="random_init")
    # ablation-only variants stay out of the main few-shot table; w/o HL is a Table 3 row
    fs = cells(json_tables(tmp_path, "--table", "fewshot", capsys=capsys)["fewshot"])
    assert list(fs) == ["LAMM (w/o HL)", "LAMM"]


def test_backbone_table(tmp_path, capsys):
    rng = np.random.default_rng(4)
    acc = {}
    for d in ("Caltech101", "OxfordPets"):
        for s in SEEDS:
            for tr in ("CoOp", "CoOpLAMM"):
                for k in (1, 16):  # the ViT-B/16 sweep
                    acc[(tr, "ViT-B/16", d, k, s)] = a = round(float(rng.uniform(60, 95)), 2)
                    fewshot(tmp_path, tr, d, k, s, a)
                for bb, cfg in (("RN50", "rn50_ep50_ctxv1"), ("ViT-B/32", "vit_b32_ep50_ctxv1")):
                    acc[(tr, bb, d, 16, s)] = a = round(float(rng.uniform(50, 90)), 2)
                    # the scripts name the variant after the backbone, which the record also holds
                    put(tmp_path, f"{FOLDER[d]}/{tr}/{cfg}_16shots", s, a, trainer=tr, dataset=d, num_shots=16,
                        backbone=bb, variant=bb.lower().replace("-", "_").replace("/", ""))
    # A backbone run in a folder whose name says another backbone: the record decides
    put(tmp_path, "caltech101/CoOp/vit_b16_ep50_ctxv1_16shots_x", 1, 55.5, trainer="CoOp", dataset="Caltech101",
        num_shots=16, backbone="RN101")

    tables = json_tables(tmp_path, "--table", "backbones,fewshot", "--datasets", "found", capsys=capsys)
    t = tables["backbones"]
    assert t["columns"] == ["RN50", "RN101", "ViT-B/32", "ViT-B/16"]
    rows = cells(t)
    assert list(rows) == ["CoOp", "CoOp+LAMM"]
    for tr, label in (("CoOp", "CoOp"), ("CoOpLAMM", "CoOp+LAMM")):
        for bb in ("RN50", "ViT-B/32", "ViT-B/16"):
            expected = np.mean([np.mean([acc[(tr, bb, d, 16, s)] for s in SEEDS]) for d in ("Caltech101", "OxfordPets")])
            assert rows[label][bb]["mean"] == pytest.approx(expected)
    assert rows["CoOp"]["RN101"]["mean"] == 55.5 and rows["CoOp"]["RN101"]["coverage"] == [1, 2]
    # the few-shot table keeps to the sweep's backbone and says where the others are
    fs = tables["fewshot"]
    assert list(cells(fs)) == ["CoOp", "CoOp+LAMM"]
    assert any("RN50, RN101, ViT-B/32 are in the backbone table" in n for n in fs["notes"])


def test_base2new_table(tmp_path, capsys):
    acc = {}
    rng = np.random.default_rng(5)
    for d in ("Caltech101", "EuroSAT"):
        for sub in ("base", "new"):
            for s in SEEDS:
                acc[(d, sub, s)] = a = round(float(rng.uniform(50, 95)), 2)
                put(tmp_path, f"base2new/{FOLDER[d]}/CoOp/vit_b16_ep50_ctxv1_16shots/{sub}", s, a, trainer="CoOp",
                    dataset=d, num_shots=16, subsample_classes=sub)
    rows = cells(json_tables(tmp_path, "--table", "base2new", "--datasets", "found", capsys=capsys)["base2new"])
    base = np.mean([np.mean([acc[(d, "base", s)] for s in SEEDS]) for d in ("Caltech101", "EuroSAT")])
    new = np.mean([np.mean([acc[(d, "new", s)] for s in SEEDS]) for d in ("Caltech101", "EuroSAT")])
    assert rows["CoOp"]["Base"]["mean"] == pytest.approx(base)
    assert rows["CoOp"]["New"]["mean"] == pytest.approx(new)
    assert rows["CoOp"]["HM"]["mean"] == pytest.approx(2 * base * new / (base + new))


def _strip(meta):
    return {k: v for k, v in meta.items() if v is not None}


@pytest.mark.parametrize("meta, expected", [
    (dict(trainer="LAMM", dataset="Caltech101", num_shots=16),
     ("fewshot", "LAMM", "", "Caltech101", 16, "ViT-B/16", None)),
    (dict(trainer="MaPLeLAMM", dataset="dtd", num_shots=4, variant="woHL"),  # a config key names the dataset too
     ("fewshot", "MaPLeLAMM", "woHL", "DescribableTextures", 4, "ViT-B/16", None)),
    (dict(trainer="ZeroshotCLIP", dataset="EuroSAT", num_shots=-1, eval_only=True, untrained=True),
     ("fewshot", "ZeroshotCLIP", "", "EuroSAT", None, "ViT-B/16", None)),
    (dict(trainer="LAMM", dataset="ImageNetSketch", num_shots=16, eval_only=True, protocol="dg",
          source_dataset="ImageNet"), ("dg", "LAMM", "", "ImageNetSketch", 16, "ViT-B/16", None)),
    (dict(trainer="CoOp", dataset="UCF101", num_shots=16, protocol="incremental", stage=2, eval_set="set2"),
     ("incremental", "CoOp", "", "UCF101", 16, "ViT-B/16", 2)),
    (dict(trainer="CoOp", dataset="Caltech101", num_shots=16, backbone="ViT-B/32", variant="x y"),
     ("fewshot", "CoOp", "x y", "Caltech101", 16, "ViT-B/32", None)),
    (dict(trainer="LAMM", dataset="MyData", num_shots=2), ("fewshot", "LAMM", "", "MyData", 2, "ViT-B/16", None)),
    (dict(trainer="LAMM", dataset="EuroSAT", num_shots=16, protocol="base2new", subsample_classes="new",
          eval_set="new", eval_only=True), ("base2new", "LAMM", "", "EuroSAT", 16, "ViT-B/16", "new")),
    (dict(trainer="CoOp", dataset="Caltech101", num_shots=16, subsample_classes="base"),  # RUN.PROTOCOL's rule
     ("base2new", "CoOp", "", "Caltech101", 16, "ViT-B/16", "base")),
    (dict(trainer="CoOp", dataset="OxfordPets", num_shots=16, protocol="cross_dataset", eval_set="oxford_pets",
          source_dataset="imagenet", eval_only=True),
     ("cross_dataset", "CoOp", "", "OxfordPets", 16, "ViT-B/16", "OxfordPets")),
])
def test_describe_reads_records(tmp_path, meta, expected):
    """What an experiment is comes from its record; the folder name (here meaningless) plays no part."""
    run = tmp_path / "runs" / "anything_8shots_rn50" / "seed1"
    run.mkdir(parents=True)
    (run / "results.json").write_text(json.dumps(_strip(_record(1, 50.0, meta))))
    (exp,) = find_experiments(tmp_path)
    e = describe(exp)
    got = (e.kind, e.method.trainer, e.method.variant, e.dataset, e.shots, e.method.backbone, e.eval_set)
    assert got == expected


def test_dataset_names_match_the_configs():
    """Folder names (config files) and results.json names (their DATASET.NAME) map to one key."""
    import yaml

    from tools.results.classify import DG_TARGET_NAMES, dataset_key

    configs = sorted((REPO_ROOT / "configs" / "datasets").glob("*.yaml"))
    for path in configs:
        name = yaml.safe_load(path.read_text())["DATASET"]["NAME"]
        if name in PAPER_DATASETS + DG_TARGET_NAMES:
            assert dataset_key(path.stem) == dataset_key(name) == name, path.name


def test_unrecognised_experiments(tmp_path):
    put(tmp_path, "a/cfg", 1, 50.0)
    put(tmp_path, "b/LAMM/cfg", 1, 50.0)  # a trainer folder, but neither dataset nor shots
    assert [describe(e).kind for e in find_experiments(tmp_path)] == [None, None]


def test_records_older_than_protocol_and_loss_are_in_no_table(tmp_path, capsys):
    """Records of older code (no protocol, loss, labels) are not guessed from config.yaml: rerun them."""
    run = put(tmp_path, "caltech101/CoOpLAMM/cfg_16shots_myrun", 1, 80.0, trainer="CoOpLAMM", dataset="Caltech101",
              num_shots=16)
    content = json.loads((run / "results.json").read_text())
    older = ("record_version", "protocol", "variant", "preset", "untrained", "loss", "labels", "config_fingerprint")
    (run / "results.json").write_text(json.dumps({k: v for k, v in content.items() if k not in older}))
    (run / "config.yaml").write_text("TRAINER:\n  LAMM:\n    HIERARCHICAL_LOSS: false\n    LABEL_INIT: random\n")
    (e,) = classify(find_experiments(tmp_path))
    assert (e.kind, e.method, e.loss_terms, e.label_init) == (None, None, None, None)
    code, _, err = cli(tmp_path, "--table", "fewshot", capsys=capsys)
    assert code == 0 and "no results for the 'fewshot' table" in err


# --------------------------------------------------------------------------- plot
def _check_png(path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.image as mpimg

    data = Path(path).read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    img = mpimg.imread(path)
    assert img.ndim == 3 and img.shape[0] > 300 and img.shape[1] > 300
    return img


def test_plot_writes_png(sweep, tmp_path_factory, capsys):
    root, _ = sweep
    out_dir = tmp_path_factory.mktemp("plots")
    code, _, err = cli(root, "--table", "fewshot", "--plot", out_dir / "curves.png", "--title", "synthetic",
                       capsys=capsys)
    assert code == 0 and "wrote" in err
    _check_png(out_dir / "curves.png")
    code, _, _ = cli(root, "--table", "fewshot", "--paper", "--plot", out_dir / "paper.png", capsys=capsys)
    assert code == 0
    _check_png(out_dir / "paper.png")


def test_plot_panels_and_values(sweep, tmp_path_factory):
    """The figure has an average panel plus one per dataset, and the lines carry the table's numbers."""
    from tools.results.plots import plot_fewshot

    root, acc = sweep
    grid = fewshot_grid(classify(find_experiments(root)), Options(expected_datasets=None))
    path = tmp_path_factory.mktemp("plots") / "c.png"
    import matplotlib.figure

    saved = {}
    original = matplotlib.figure.Figure.savefig

    def spy(fig, *a, **kw):
        saved["fig"] = fig
        return original(fig, *a, **kw)

    matplotlib.figure.Figure.savefig = spy
    try:
        plot_fewshot(grid, path)
    finally:
        matplotlib.figure.Figure.savefig = original
    axes = [ax for ax in saved["fig"].axes if ax.get_visible()]
    assert [ax.get_title() for ax in axes] == ["Average over 3 datasets", "Caltech101", "OxfordPets", "EuroSAT"]
    lamm = [l for l in axes[2].get_lines() if l.get_label() == "LAMM"][0]
    assert list(lamm.get_xdata()) == list(SHOTS)
    assert list(lamm.get_ydata()) == pytest.approx([mean_over_seeds(acc, "LAMM", "OxfordPets", k) for k in SHOTS])
    _check_png(path)


def test_plot_without_fewshot_runs_fails(tmp_path, capsys):
    put(tmp_path, "a/cfg", 1, 50.0)
    code, _, err = cli(tmp_path, "--plot", tmp_path / "x.png", capsys=capsys)
    assert code == 1 and "nothing to draw" in err and not (tmp_path / "x.png").exists()


# --------------------------------------------------------------------------- the generator, end to end
def test_synthetic_generator_round_trip(tmp_path, capsys):
    from tools.synthetic.results import make_output

    written = make_output(tmp_path, datasets=["ImageNet", "Caltech101", "EuroSAT"], shots=(2, 16), seeds=(1, 2))
    tables = json_tables(tmp_path, "--table", "all", "--datasets", "found", capsys=capsys)
    assert {"fewshot", "datasets_16shots", "hl", "init", "backbones", "incremental", "dg", "base2new",
            "cross"} <= set(tables)
    lamm = cells(tables["fewshot"])["LAMM"]["2"]
    per_ds = [np.mean([written[f"{f}/LAMM/vit_b16_ep50_ctxv1_2shots/seed{s}"] for s in (1, 2)])
              for f in ("imagenet", "caltech101", "eurosat")]
    assert lamm["mean"] == pytest.approx(np.mean(per_ds))
    runs = [t for t in json.loads(cli(tmp_path, "--format", "json", "--table", "all", capsys=capsys)[1])
            if t["table"] == "runs"][0]
    assert sum(len(r["runs"]) for r in runs["rows"]) == len(written)
    assert not any(r["flags"] for r in runs["rows"])  # nothing foreign, nothing unfinished
    # Every record has the schema's fields.
    for path in list(tmp_path.rglob("results.json"))[:50]:
        rec = json.loads(path.read_text())
        assert {"record_version", "method", "protocol", "variant", "stage", "eval_set", "source_dataset",
                "train_classes", "preset", "untrained", "loss", "labels", "checkpoint", "config_fingerprint",
                "overrides", "code_version", "time_s", "peak_memory_gb", "classnames"} <= set(rec)
    # LAMM's new classes keep their word embeddings: its new accuracy is zero-shot CLIP's.
    b2n = cells(tables["base2new"])
    assert b2n["Caltech101: LAMM"]["New"]["mean"] == b2n["Caltech101: Zero-shot CLIP"]["New"]["mean"]
    cross = cells(tables["cross"])["LAMM"]
    assert cross["Source"]["mean"] == pytest.approx(
        np.mean([written[f"imagenet/LAMM/vit_b16_ep50_ctxv1_16shots/seed{s}"] for s in (1, 2)]))
    # Deterministic: a second tree has the same numbers.
    assert make_output(tmp_path / "again", datasets=["ImageNet", "Caltech101", "EuroSAT"], shots=(2, 16),
                       seeds=(1, 2)) == written


# --------------------------------------------------------------------------- the two transfer protocols
def hm(b, n):
    return 2 * b * n / (b + n)


def test_base2new_per_dataset_hm_and_average(tmp_path, capsys):
    """Per dataset: base, new, HM of their means; on average: HM of the average base and new (CoCoOp)."""
    rng = np.random.default_rng(6)
    acc = {}
    datasets = ("Caltech101", "EuroSAT", "DescribableTextures")
    for d in datasets:
        rel = f"b2n/{FOLDER[d]}/LAMM"
        for s in SEEDS:
            acc[(d, "train", s)] = a = round(float(rng.uniform(70, 95)), 2)
            put(tmp_path, f"{rel}/train", s, a, trainer="LAMM", dataset=d, num_shots=16, protocol="base2new",
                subsample_classes="base")
            acc[(d, "new", s)] = a = round(float(rng.uniform(50, 80)), 2)
            put(tmp_path, f"{rel}/new", s, a, trainer="LAMM", dataset=d, num_shots=16, protocol="base2new",
                subsample_classes="new", eval_set="new", eval_only=True)
        zs = {"base": round(float(rng.uniform(60, 70)), 2), "new": round(float(rng.uniform(60, 70)), 2)}
        for split, a in zs.items():
            acc[(d, "zs_" + split)] = a
            put(tmp_path, f"b2n/{FOLDER[d]}/zs_{split}", 1, a, trainer="ZeroshotCLIP", dataset=d, num_shots=-1,
                eval_only=True, untrained=True, protocol="base2new", subsample_classes=split, eval_set=split)
    # An explicit evaluation on the base classes wins over the training run's own test.
    for s in SEEDS:
        acc[("EuroSAT", "base", s)] = a = round(float(rng.uniform(70, 95)), 2)
        put(tmp_path, "b2n/eurosat/LAMM/base", s, a, trainer="LAMM", dataset="EuroSAT", num_shots=16,
            protocol="base2new", subsample_classes="base", eval_set="base", eval_only=True)

    def base_of(d):
        return np.mean([acc[(d, "base" if d == "EuroSAT" else "train", s)] for s in SEEDS])

    def new_of(d):
        return np.mean([acc[(d, "new", s)] for s in SEEDS])

    rows = cells(json_tables(tmp_path, "--table", "base2new", "--datasets", "found", "--paper",
                             capsys=capsys)["base2new"])
    for d, label in (("Caltech101", "Caltech101"), ("EuroSAT", "EuroSAT"), ("DescribableTextures", "DTD")):
        r = rows[f"{label}: LAMM"]
        assert r["Base"]["mean"] == pytest.approx(base_of(d)) and r["New"]["mean"] == pytest.approx(new_of(d))
        assert r["HM"]["mean"] == pytest.approx(hm(base_of(d), new_of(d)))
        per_seed_hm = [hm(acc[(d, "base" if d == "EuroSAT" else "train", s)], acc[(d, "new", s)]) for s in SEEDS]
        assert r["HM"]["std"] == pytest.approx(np.std(per_seed_hm))
        z = rows[f"{label}: Zero-shot CLIP"]
        assert z["HM"]["mean"] == pytest.approx(hm(acc[(d, "zs_base")], acc[(d, "zs_new")]))
    avg_b, avg_n = np.mean([base_of(d) for d in datasets]), np.mean([new_of(d) for d in datasets])
    avg = rows["LAMM"]
    assert avg["Base"]["mean"] == pytest.approx(avg_b) and avg["New"]["mean"] == pytest.approx(avg_n)
    assert avg["HM"]["mean"] == pytest.approx(hm(avg_b, avg_n))
    assert avg["HM"]["mean"] != pytest.approx(np.mean([hm(base_of(d), new_of(d)) for d in datasets]))
    # MaPLe's published averages sit beside the runs of the same method, and as rows of their own.
    zs_paper = rows["Zero-shot CLIP"]
    assert zs_paper["New"]["paper"]["value"] == paper_value("base2new", "ZeroshotCLIP", "average", "", "new",
                                                            table_prefix="MaPLe")
    code, out, _ = cli(tmp_path, "--table", "runs,base2new", "--datasets", "found", "--paper", capsys=capsys)
    (cocoop,) = [l for l in out.splitlines() if l.startswith("| CoCoOp (paper)")]
    assert [c.strip() for c in cocoop.strip("|").split("|")][1:] == [
        f"{paper_value('base2new', 'CoCoOp', 'average', 16, m, table_prefix='MaPLe'):.2f}" for m in ("base", "new", "hm")]
    assert "paper (MaPLe README): MaPLe (Khattak et al., CVPR 2023" in out
    assert "In no table above" not in out  # the training run beside its own evaluation counts as used
    # Without --datasets found the average is over the paper's 11 and says so.
    rows = cells(json_tables(tmp_path, "--table", "base2new", capsys=capsys)["base2new"])
    assert rows["LAMM"]["Base"]["coverage"] == [3, N]


def test_cross_dataset_table(tmp_path, capsys):
    """Source accuracy, each target, the average over targets; the source run of the protocol itself."""
    rng = np.random.default_rng(7)
    acc = {}
    targets = ("Caltech101", "OxfordPets", "EuroSAT")
    for s in SEEDS:
        acc[("ImageNet", s)] = a = round(float(rng.uniform(65, 75)), 2)
        put(tmp_path, "xd/imagenet/CoOp/train", s, a, trainer="CoOp", dataset="ImageNet", num_shots=16,
            protocol="cross_dataset")
        fewshot(tmp_path, "CoOp", "ImageNet", 16, s, 1.0)  # the few-shot run is not the protocol's source
        for d in targets:
            acc[(d, s)] = a = round(float(rng.uniform(40, 90)), 2)
            put(tmp_path, f"xd/CoOp/{FOLDER[d]}", s, a, trainer="CoOp", dataset=d, num_shots=16,
                protocol="cross_dataset", source_dataset="ImageNet", eval_set=FOLDER[d], eval_only=True)
    # zero-shot CLIP's evaluations record no source (nothing was trained); its ImageNet run is the source column
    zeroshot(tmp_path, "ImageNet", 66.5)
    for d in targets:
        acc[("zs", d)] = a = round(float(rng.uniform(40, 90)), 2)
        put(tmp_path, f"xd/ZeroshotCLIP/{FOLDER[d]}", 1, a, trainer="ZeroshotCLIP", dataset=d, num_shots=-1,
            protocol="cross_dataset", eval_set=FOLDER[d], eval_only=True)
    # an untrained evaluation: a row of its own, labelled
    put(tmp_path, "xd/CoOp_untrained/caltech101", 1, 33.0, trainer="CoOp", dataset="Caltech101", num_shots=16,
        protocol="cross_dataset", source_dataset="ImageNet", eval_set="caltech101", eval_only=True, untrained=True)

    def m(key):
        return np.mean([acc[(key, s)] for s in SEEDS])

    t = json_tables(tmp_path, "--table", "cross", capsys=capsys)["cross"]
    assert t["columns"] == ["Source", "Caltech101", "OxfordPets", "EuroSAT", "Average"]
    rows = cells(t)
    assert list(rows) == ["Zero-shot CLIP", "CoOp", "CoOp (untrained)"]
    assert rows["Zero-shot CLIP"]["Source"]["mean"] == 66.5
    assert rows["Zero-shot CLIP"]["Average"]["mean"] == pytest.approx(np.mean([acc[("zs", d)] for d in targets]))
    assert rows["CoOp"]["Source"]["mean"] == pytest.approx(m("ImageNet"))
    for d in targets:
        assert rows["CoOp"][d]["mean"] == pytest.approx(m(d))
    assert rows["CoOp"]["Average"]["mean"] == pytest.approx(np.mean([m(d) for d in targets]))
    assert rows["CoOp"]["Average"]["coverage"] == [3, N - 1]  # the benchmarks less the source
    per_seed = [np.mean([acc[(d, s)] for d in targets]) for s in SEEDS]
    assert rows["CoOp"]["Average"]["std"] == pytest.approx(np.std(per_seed))
    assert rows["CoOp (untrained)"]["Caltech101"]["mean"] == 33.0
    t = json_tables(tmp_path, "--table", "cross", "--datasets", "found", capsys=capsys)["cross"]
    assert cells(t)["CoOp"]["Average"]["coverage"] == [3, 3]


# --------------------------------------------------------------------------- runs that must not be mixed
def test_untrained_eval_only_and_official_preset_are_labelled(tmp_path, capsys):
    for s in SEEDS:
        fewshot(tmp_path, "LAMM", "Caltech101", 16, s, 90.0 + s)
        put(tmp_path, "caltech101/LAMM/official", s, 80.0 + s, trainer="LAMM", dataset="Caltech101", num_shots=16,
            preset="official", variant="official")
        put(tmp_path, "caltech101/LAMM/eval_of_trained", s, 70.0 + s, trainer="LAMM", dataset="Caltech101",
            num_shots=16, eval_only=True)
    put(tmp_path, "caltech101/LAMM/untrained", 1, 60.0, trainer="LAMM", dataset="Caltech101", num_shots=16,
        eval_only=True, untrained=True)
    put(tmp_path, "dg/LAMM/untrained/imagenet_a", 1, 40.0, trainer="LAMM", dataset="ImageNetA", num_shots=16,
        eval_only=True, untrained=True, protocol="dg", source_dataset="ImageNet")
    tables = json_tables(tmp_path, "--table", "datasets,dg", "--datasets", "found", "--paper", capsys=capsys)
    row = cells(tables["datasets_16shots"])["Caltech101"]
    assert row["LAMM"]["mean"] == pytest.approx(92.0)
    assert row["LAMM [official preset]"]["mean"] == pytest.approx(82.0)
    assert row["LAMM (eval-only)"]["mean"] == pytest.approx(72.0)
    assert row["LAMM (untrained)"]["mean"] == 60.0
    assert row["LAMM (untrained)"]["paper"] is None and row["LAMM (eval-only)"]["paper"] is None
    dg = cells(tables["dg"])
    assert list(dg) == ["LAMM (untrained)"] and dg["LAMM (untrained)"]["-A"]["mean"] == 40.0
    assert dg["LAMM (untrained)"]["-A"]["paper"] is None


def test_another_config_in_the_same_cell_is_not_averaged(tmp_path, capsys):
    """Two folders with the same method, dataset and shots but another config fingerprint."""
    for s in SEEDS:
        fewshot(tmp_path, "CoOp", "Caltech101", 16, s, 70.0 + s)
    for s in (1, 2):
        put(tmp_path, "older/caltech101/CoOp/cfg", s, 10.0, trainer="CoOp", dataset="Caltech101", num_shots=16,
            config_fingerprint="ffffffffffffffff")
    rows = cells(json_tables(tmp_path, "--table", "datasets", "--datasets", "found", capsys=capsys)
                 ["datasets_16shots"])
    cell = rows["Caltech101"]["CoOp"]
    assert cell["mean"] == pytest.approx(72.0) and cell["seeds"] == ["1", "2", "3"]
    assert any("another config (fingerprint ffffffffffffffff" in f and str(tmp_path / "older") in f
               for f in cell["flags"])


def test_foreign_run_reaches_the_tables_flagged(tmp_path, capsys):
    for s in (1, 2):
        fewshot(tmp_path, "LAMM", "Caltech101", 16, s, 90.0 + s)
    # a CoOp run written into the LAMM folder: counted as CoOp, never as LAMM, flagged in both cells
    run = put(tmp_path, "caltech101/LAMM/vit_b16_ep50_ctxv1_16shots", 3, 50.0, trainer="CoOp", dataset="Caltech101",
              num_shots=16)
    rows = cells(json_tables(tmp_path, "--table", "datasets", "--datasets", "found", capsys=capsys)
                 ["datasets_16shots"])["Caltech101"]
    assert rows["LAMM"]["mean"] == pytest.approx(91.5) and rows["CoOp"]["mean"] == 50.0
    assert any("foreign run" in f and str(run) in f for f in rows["LAMM"]["flags"])
    assert any("foreign run(s)" in f for f in rows["CoOp"]["flags"])
    code, out, _ = cli(tmp_path, "--table", "datasets", "--datasets", "found", capsys=capsys)
    (line,) = [l for l in out.splitlines() if l.startswith("| Caltech101")]
    assert line.count("*") == 2


# --------------------------------------------------------------------------- CoCoOp: measured beside published
def test_a_measured_cocoop_row_sits_beside_its_published_row(tmp_path, capsys):
    """CoCoOp is a method of the table (trainers/methods.py): its runs make a row in the paper's
    order, and the published numbers follow it as "CoCoOp (paper)" (Table 1 and base-to-new)."""
    for tr, a in (("CoOp", 70.0), ("CoCoOp", 71.5), ("CoCoOpLAMM", 72.0), ("MaPLe", 73.0)):
        for s in SEEDS:
            fewshot(tmp_path, tr, "ImageNet", 16, s, a)
            put(tmp_path, f"evaluation/{tr}/{config(tr, 16)}/imagenetv2", s, a - 7, trainer=tr, dataset="ImageNetV2",
                num_shots=16, eval_only=True, protocol="dg", source_dataset="ImageNet", eval_set="imagenetv2")
            put(tmp_path, f"b2n/caltech101/{tr}/train", s, a + 20, trainer=tr, dataset="Caltech101", num_shots=16,
                protocol="base2new", subsample_classes="base")
            put(tmp_path, f"b2n/caltech101/{tr}/new", s, a + 5, trainer=tr, dataset="Caltech101", num_shots=16,
                protocol="base2new", subsample_classes="new", eval_set="new", eval_only=True)
    rows = cells(json_tables(tmp_path, "--table", "dg", "--paper", capsys=capsys)["dg"])
    assert list(rows) == ["CoOp", "CoCoOp", "CoCoOp+LAMM", "MaPLe"]
    assert rows["CoCoOp"]["-V2"]["mean"] == pytest.approx(64.5)
    assert rows["CoCoOp"]["-V2"]["paper"]["value"] == paper_value("dg", "CoCoOp", "ImageNetV2", 16)
    for table in ("dg", "base2new"):
        _, out, _ = cli(tmp_path, "--table", table, "--datasets", "found", "--paper", capsys=capsys)
        labels = [line.split("|")[1].strip() for line in out.splitlines() if line.startswith("| ")]
        measured = labels.index("CoCoOp")
        assert labels[measured + 1] == "CoCoOp (paper)", (table, labels)
        assert labels.index("CoCoOp+LAMM") > measured and labels.count("CoCoOp (paper)") == 1

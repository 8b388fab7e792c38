"""The paper-shaped tables of parse_test_res.py (tools/paper_tables.py) on synthetic output folders.

Every expected number is computed here with numpy from the accuracies the test writes; the
published numbers are read from docs/paper_results.csv, never typed in.
"""
import csv
import io
import json
from pathlib import Path

import numpy as np
import pytest

import parse_test_res
from tools.paper_tables import (
    ALL_TERMS,
    CE_ONLY,
    PAPER_DATASETS,
    PAPER_RESULTS,
    Options,
    PaperResults,
    classify,
    describe,
    fewshot_grid,
)
from tools.run_results import find_experiments

FOLDER = {"ImageNet": "imagenet", "Caltech101": "caltech101", "OxfordPets": "oxford_pets",
          "DescribableTextures": "dtd", "EuroSAT": "eurosat", "ImageNetV2": "imagenetv2",
          "ImageNetSketch": "imagenet_sketch", "ImageNetA": "imagenet_a", "ImageNetR": "imagenet_r"}
CFG = {"CoOp": "vit_b16_ep50_ctxv1", "LAMM": "vit_b16_ep50_ctxv1", "CoOpLAMM": "vit_b16_ep50_ctxv1",
       "MaPLe": "vit_b16_c2_ep5_batch4_2ctx", "MaPLeLAMM": "vit_b16_c2_ep5_batch4_2ctx"}


# --------------------------------------------------------------------------- helpers
def put(root, rel, seed, acc, **meta):
    """One run as the trainers write it: <root>/<rel>/seed<S>/results.json."""
    run = Path(root) / rel / f"seed{seed}"
    run.mkdir(parents=True, exist_ok=True)
    content = {"accuracy": acc, "split": "test", "seed": seed, "subsample_classes": "all",
               "backbone": "ViT-B/16", "eval_only": False, "epoch": 50, **meta}
    (run / "results.json").write_text(json.dumps(content))
    return run


def fewshot(root, trainer, dataset, shots, seed, acc, tag="", **meta):
    rel = f"{FOLDER[dataset]}/{trainer}/{CFG[trainer]}_{shots}shots" + (f"_{tag}" if tag else "")
    return put(root, rel, seed, acc, trainer=trainer, dataset=dataset, num_shots=shots, **meta)


def zeroshot(root, dataset, acc):
    return put(root, f"{FOLDER[dataset]}/ZeroshotCLIP/vit_b16", 1, acc, trainer="ZeroshotCLIP", dataset=dataset,
               num_shots=-1, epoch=0)


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


# --------------------------------------------------------------------------- a complete few-shot sweep
SHOTS = (1, 4, 16)
SEEDS = (1, 2, 3)
DATASETS = ("Caltech101", "OxfordPets", "EuroSAT")


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
    assert f"{expected:.2f}" in lamm16 and "[3/11]" in lamm16
    n_cells = 4 * len(SHOTS)  # every cell misses the same 8 datasets: one note for all
    missing = [l for l in PAPER_DATASETS if l not in DATASETS]
    assert f"{n_cells} cells: average over 3 of 11 datasets (missing: ImageNet, StanfordCars" in out
    assert len(missing) == 8
    tables = json_tables(root, "--table", "fewshot", capsys=capsys)
    cell = cells(tables["fewshot"])["LAMM"]["16"]
    assert cell["coverage"] == [3, 11] and len(cell["missing_datasets"]) == 8


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
    assert r["datasets"] == "3/11" and r["missing_datasets"].startswith("ImageNet")
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
    assert out.rstrip().splitlines()[-1] == "In no table above (layouts: docs/EXPERIMENTS.md): scratch/notes"
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
        assert len(vals) == 11
        assert np.mean(vals) == pytest.approx(paper_value("fewshot", tr, "average", 16), abs=0.6)


# --------------------------------------------------------------------------- other experiment kinds
def test_incremental_table(tmp_path, capsys):
    rng = np.random.default_rng(1)
    acc = {}
    for d in ("Caltech101", "DescribableTextures"):
        for tr in ("ZeroshotCLIP", "CoOp", "LAMM"):
            cfg = "vit_b16" if tr == "ZeroshotCLIP" else f"{CFG[tr]}_16shots"
            for s in ((1,) if tr == "ZeroshotCLIP" else SEEDS):
                # the folders of scripts/incremental.sh; zero-shot has nothing to train: stage 1 only
                folders = ("stage1_set1", "stage1_set2") if tr == "ZeroshotCLIP" else \
                    ("stage1_set1", "stage1_set2", "stage2_train", "stage2_set1", "stage2_set2")
                for folder in folders:
                    a = round(float(rng.uniform(40, 95)), 2)
                    acc[(tr, d, folder, s)] = a
                    put(tmp_path, f"incremental/{FOLDER[d]}/{tr}/{cfg}/{folder}", s, a, trainer=tr, dataset=d,
                        num_shots=16 if tr != "ZeroshotCLIP" else -1)
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
    """stage / eval_set in results.json work without the stage<k>_set<j> folder names."""
    put(tmp_path, "cil/caltech101/LAMM/vit_b16_ep50_ctxv1_16shots/a", 1, 80.0, trainer="LAMM",
        dataset="Caltech101", num_shots=16, stage=2, eval_set="set1")
    (e,) = classify(find_experiments(tmp_path))
    assert (e.kind, e.stage, e.eval_set, e.method.variant) == ("incremental", 2, 1, "a")


def test_dg_table(tmp_path, capsys):
    rng = np.random.default_rng(2)
    acc = {}
    for tr in ("LAMM", "CoOp"):
        for s in SEEDS:
            acc[(tr, "ImageNet", s)] = a = round(float(rng.uniform(65, 75)), 2)
            fewshot(tmp_path, tr, "ImageNet", 16, s, a)
            for d in ("ImageNetV2", "ImageNetSketch", "ImageNetA"):  # -R not run
                acc[(tr, d, s)] = a = round(float(rng.uniform(40, 70)), 2)
                put(tmp_path, f"evaluation/{tr}/{CFG[tr]}_16shots/{FOLDER[d]}", s, a, trainer=tr, dataset=d,
                    num_shots=16, eval_only=True)
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
    # a loss variant named by overrides, known from config.yaml
    run = fewshot(tmp_path, "LAMM", "Caltech101", 16, 1, 50.0, tag="TRAINER.LAMM.LAMBDA_KD-0")
    (run / "config.yaml").write_text("TRAINER:\n  LAMM:\n    HIERARCHICAL_LOSS: true\n    LAMBDA_WC: -1.0\n"
                                     "    LAMBDA_COS: 1.0\n    LAMBDA_KD: 0.0\n    LABEL_INIT: word\n")

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
                    put(tmp_path, f"{FOLDER[d]}/{tr}/{cfg}_16shots", s, a, trainer=tr, dataset=d, num_shots=16,
                        backbone=bb)
    # A backbone named only by the folder tag (log-only run, no results.json)
    run = tmp_path / "caltech101/CoOp/vit_b16_ep50_ctxv1_16shots_rn101/seed1"
    run.mkdir(parents=True)
    (run / "log.txt").write_text("Finish training\n=> result\n* accuracy: 55.5%\n")

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


# --------------------------------------------------------------------------- recognising layouts
@pytest.mark.parametrize("rel, meta, expected", [
    ("caltech101/LAMM/vit_b16_ep50_ctxv1_16shots", {}, ("fewshot", "LAMM", "", "Caltech101", 16, "ViT-B/16", "")),
    ("oxford_pets/CoOp/rn50_ep50_16shots/nctx16_cscFalse_ctpend", {},  # CoOp's own layout, log only
     ("fewshot", "CoOp", "nctx16_cscFalse_ctpend", "OxfordPets", 16, "RN50", "")),
    ("dtd/MaPLeLAMM/vit_b16_c2_ep5_batch4_2ctx_4shots_woHL", {"trainer": "MaPLeLAMM", "dataset": "DescribableTextures",
                                                             "num_shots": 4, "backbone": "ViT-B/16"},
     ("fewshot", "MaPLeLAMM", "woHL", "DescribableTextures", 4, "ViT-B/16", "")),
    ("old/eurosat/ZeroshotCLIP/vit_b16", {}, ("fewshot", "ZeroshotCLIP", "", "EuroSAT", None, "ViT-B/16", "old")),
    ("evaluation/LAMM/vit_b16_ep50_ctxv1_16shots/imagenet_sketch", {},
     ("dg", "LAMM", "", "ImageNetSketch", 16, "ViT-B/16", "evaluation")),
    ("incremental/ucf101/CoOp/vit_b16_ep50_ctxv1_16shots/stage2_set2", {},
     ("incremental", "CoOp", "", "UCF101", 16, "ViT-B/16", "incremental")),
    ("incremental/dtd/LAMM/vit_b16_ep50_ctxv1_16shots/stage2_train", {},
     ("incremental", "LAMM", "", "DescribableTextures", 16, "ViT-B/16", "incremental")),
    ("caltech101/CoOp/vit_b16_ep50_ctxv1_16shots_vit_b32_woHL", {},
     ("fewshot", "CoOp", "woHL", "Caltech101", 16, "ViT-B/32", "")),
    ("mydata/LAMM/vit_b16_ep50_ctxv1_2shots", {"trainer": "LAMM", "dataset": "MyData", "num_shots": 2},
     ("fewshot", "LAMM", "", "MyData", 2, "ViT-B/16", "")),
])
def test_describe_layouts(tmp_path, rel, meta, expected):
    run = tmp_path / rel / "seed1"
    run.mkdir(parents=True)
    (run / "log.txt").write_text("Finish training\n=> result\n* accuracy: 50.0%\n")
    if meta:
        (run / "results.json").write_text(json.dumps({"accuracy": 50.0, **meta}))
    (exp,) = find_experiments(tmp_path)
    e = describe(exp)
    got = (e.kind, e.method.trainer, e.method.variant, e.dataset, e.shots, e.method.backbone, e.method.group)
    assert got == expected


def test_dataset_names_match_the_configs():
    """Folder names (config files) and results.json names (their DATASET.NAME) map to one key."""
    import yaml

    from tools.paper_tables import DG_TARGET_NAMES, dataset_key

    configs = sorted((Path(__file__).resolve().parent.parent / "configs" / "datasets").glob("*.yaml"))
    for path in configs:
        name = yaml.safe_load(path.read_text())["DATASET"]["NAME"]
        if name in PAPER_DATASETS + DG_TARGET_NAMES:
            assert dataset_key(path.stem) == dataset_key(name) == name, path.name


def test_unrecognised_experiments(tmp_path):
    put(tmp_path, "a/cfg", 1, 50.0)
    put(tmp_path, "b/LAMM/cfg", 1, 50.0)  # a trainer folder, but neither dataset nor shots
    assert [describe(e).kind for e in find_experiments(tmp_path)] == [None, None]


def test_loss_terms_from_config_beat_the_tag(tmp_path):
    run = fewshot(tmp_path, "CoOpLAMM", "Caltech101", 16, 1, 80.0, tag="myrun")
    (run / "config.yaml").write_text("TRAINER:\n  LAMM:\n    HIERARCHICAL_LOSS: false\n    LABEL_INIT: random\n")
    (e,) = classify(find_experiments(tmp_path))
    assert e.loss_terms == CE_ONLY and e.label_init == "random" and e.ablation_only


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
    from tools.plots import plot_fewshot

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
    from tools.synthetic_results import make_output

    written = make_output(tmp_path, datasets=["ImageNet", "Caltech101"], shots=(2, 16), seeds=(1, 2))
    tables = json_tables(tmp_path, "--table", "all", "--datasets", "found", capsys=capsys)
    assert {"fewshot", "datasets_16shots", "hl", "init", "backbones", "incremental", "dg"} <= set(tables)
    lamm = cells(tables["fewshot"])["LAMM"]["2"]
    per_ds = [np.mean([written[f"{f}/LAMM/vit_b16_ep50_ctxv1_2shots/seed{s}"] for s in (1, 2)])
              for f in ("imagenet", "caltech101")]
    assert lamm["mean"] == pytest.approx(np.mean(per_ds))
    runs = [t for t in json.loads(cli(tmp_path, "--format", "json", "--table", "all", capsys=capsys)[1])
            if t["table"] == "runs"][0]
    assert sum(len(r["runs"]) for r in runs["rows"]) == len(written)

"""parse_test_res.py and tools/results/collect.py on synthetic output folders.

Logs are written in Dassl 0.6.3's format (stdout tee in ``log.txt``); expected numbers are
computed here from the inputs with numpy, never copied from the program's output.
"""
import csv
import io
import json

import numpy as np
import pytest

import parse_test_res
from tests.run_folders import EXP, LAMM_EXPS, eval_log, record, train_log, write_run
from tests.run_folders import output  # noqa: F401  (a fixture)
from tools.results.collect import aggregate, find_experiments, find_runs


def run_cli(*argv, capsys):
    code = parse_test_res.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


# --------------------------------------------------------------------------- discovery / records
def test_table_over_several_experiments(output, capsys):
    write_run(output, "dtd/LAMM/vit_b16_ep50_ctxv1_16shots", 3, log="epoch [1/50] batch [1/5]\n")
    code, out, err = run_cli(output, "--format", "json", capsys=capsys)
    assert code == 0
    rows = {r["experiment"]: r for r in json.loads(out)}
    assert set(rows) == set(LAMM_EXPS)
    for exp, accs in LAMM_EXPS.items():
        assert rows[exp]["n"] == len(accs)
        assert rows[exp]["seeds"] == list(range(1, len(accs) + 1))
        assert rows[exp]["mean"] == pytest.approx(np.mean(accs))
        assert rows[exp]["std"] == pytest.approx(np.std(accs))  # population std, like CoOp
        assert rows[exp]["ci95"] == pytest.approx(1.96 * np.std(accs) / np.sqrt(len(accs)))
        assert [r["value"] for r in rows[exp]["runs"] if r["value"] is not None] == accs
    assert rows["dtd/LAMM/vit_b16_ep50_ctxv1_16shots"]["unfinished"] == ["seed3"]

    # The per-experiment list alone (by default the paper-shaped tables follow it).
    code, out, _ = run_cli(output, "--table", "runs", capsys=capsys)
    lines = out.splitlines()
    body = [l for l in lines if "LAMM" in l]
    # Sorted by path, with shots in numeric order (2shots before 16shots).
    assert [l.split("|")[1].strip() for l in body] == [
        "caltech101/LAMM/vit_b16_ep50_ctxv1_2shots",
        "caltech101/LAMM/vit_b16_ep50_ctxv1_16shots",
        "dtd/LAMM/vit_b16_ep50_ctxv1_16shots",
    ]
    for line in body:
        accs = LAMM_EXPS[line.split("|")[1].strip()]
        assert f"{np.mean(accs):.2f} ± {np.std(accs):.2f}" in line
    assert "seed3: unfinished" in body[2]


def test_results_json_preferred_and_kept_as_metadata(tmp_path):
    meta = {"accuracy": 91.23, "split": "test", "trainer": "LAMM", "dataset": "Caltech101",
            "num_shots": 16, "seed": 1, "backbone": "ViT-B/16", "epoch": 50, "unknown_key": [1, 2]}
    write_run(tmp_path, "caltech101/LAMM/cfg", 1, log=train_log(50.0), results=meta)
    write_run(tmp_path, "caltech101/LAMM/cfg", 2, log=train_log(90.0),
              results={**meta, "seed": 2, "accuracy": 92.0})
    (run1, run2) = find_runs(tmp_path)
    assert run1.value == 91.23 and run1.source.endswith("results.json")
    assert run1.parts == ("caltech101", "LAMM", "cfg") and run1.seed == 1
    assert run1.metadata["dataset"] == "Caltech101" and run1.metadata["unknown_key"] == [1, 2]
    # macro_f1 is not in results.json, so it falls back to the log.
    (f1,) = [r for r in find_runs(tmp_path, keyword="macro_f1") if r.seed == 1]
    assert f1.value == pytest.approx(50.0 - 1.1) and f1.source.endswith("log.txt")
    (exp,) = aggregate([run1, run2])
    assert exp.metadata == {k: v for k, v in meta.items() if k not in ("accuracy", "seed")}


def test_corrupt_results_json_is_an_unfinished_run(tmp_path, capsys):
    """A record that does not parse means the run is not finished: never averaged, not the log's number."""
    run = write_run(tmp_path, "exp", 1, log=train_log(81.0))
    (run / "results.json").write_text('{"accuracy": ')  # killed mid-write
    write_run(tmp_path, "exp", 2, log=train_log(70.0), results={"accuracy": 70.0, "seed": 2})
    no_acc = write_run(tmp_path, "exp", 3, log=train_log(99.0), results={"seed": 3, "trainer": "LAMM"})
    (rec, ok, partial) = find_runs(tmp_path)
    assert rec.value is None and not rec.finished and "unreadable results.json" in rec.note
    assert "not finished" in rec.note
    assert partial.value is None and "'accuracy'" in partial.note and "not finished" in partial.note
    (exp,) = find_experiments(tmp_path)
    assert exp.values == [70.0] and exp.mean == 70.0
    code, out, _ = run_cli(tmp_path, "--format", "json", capsys=capsys)
    (row,) = json.loads(out)
    assert row["mean"] == 70.0 and row["unfinished"] == ["seed1", "seed3"]
    assert any("seed1: unreadable results.json" in f for f in row["flags"])
    assert no_acc.is_dir()


def test_timestamped_logs_ignored(tmp_path):
    run = write_run(tmp_path, "exp", 1, log=train_log(70.0))
    (run / "log.txt-2024-01-03-11-06-55").write_text(train_log(99.0))
    only_ts = tmp_path / "exp" / "seed2"
    only_ts.mkdir()
    (only_ts / "log.txt-2024-01-03-11-06-55").write_text(train_log(98.0))
    runs = find_runs(tmp_path)
    assert [(r.seed, r.value) for r in runs] == [(1, 70.0)]


def test_unfinished_seed_flagged(tmp_path, capsys):
    write_run(tmp_path, "a/cfg", 1, log=train_log(60.0))
    write_run(tmp_path, "a/cfg", 2, log="epoch [3/50] batch [1/5] time 0.5\n")  # still running
    write_run(tmp_path, "a/cfg", 3, log=eval_log(61.0))  # eval-only log, read without --test-log
    (exp,) = find_experiments(tmp_path)
    assert exp.n == 1 and [r.seed_dir for r in exp.unfinished] == ["seed2", "seed3"]
    assert "seed2: unfinished" in exp.flags[0]
    assert "--test-log" in exp.flags[1]
    code, out, err = run_cli(tmp_path, "--format", "table", capsys=capsys)
    assert code == 0 and "seed2: unfinished" in out


def test_expected_seeds_absent_flagged(tmp_path, capsys):
    write_run(tmp_path, "a/cfg", 1, log=train_log(60.0))
    write_run(tmp_path, "a/cfg", 3, log=train_log(62.0))
    write_run(tmp_path, "b/cfg", 1, log=train_log(60.0))
    code, out, _ = run_cli(tmp_path, "--seeds", "1", "2", "3", "--format", "json", capsys=capsys)
    rows = {r["experiment"]: r for r in json.loads(out)}
    assert rows["a/cfg"]["missing_seeds"] == [2]
    assert rows["b/cfg"]["missing_seeds"] == [2, 3]
    assert "seed2: absent" in rows["a/cfg"]["flags"]


def test_stray_files_and_non_run_folders_skipped(output, capsys):
    (output / "notes.txt").write_text("hi")
    (output / "caltech101" / "LAMM" / "vit_b16_ep50_ctxv1_16shots" / "tensorboard").mkdir()
    (output / "caltech101" / "LAMM" / "vit_b16_ep50_ctxv1_16shots" / "stray.log").write_text("x")
    (output / "empty" / "seed1").mkdir(parents=True)  # no log yet: not a run
    (output / ".hidden" / "exp" / "seed1").mkdir(parents=True)
    (output / ".hidden" / "exp" / "seed1" / "log.txt").write_text(train_log(10.0))
    assert {e.experiment for e in find_experiments(output)} == set(LAMM_EXPS)
    code, out, _ = run_cli(output / "caltech101" / "LAMM" / "vit_b16_ep50_ctxv1_16shots", capsys=capsys)
    assert code == 0 and "Summary of directory" in out


# --------------------------------------------------------------------------- CoOp compatibility
def test_single_experiment_prints_coop_lines(output, capsys):
    exp_dir = output / "caltech101" / "LAMM" / "vit_b16_ep50_ctxv1_16shots"
    accs = LAMM_EXPS["caltech101/LAMM/vit_b16_ep50_ctxv1_16shots"]
    code, out, err = run_cli(exp_dir, capsys=capsys)
    assert code == 0
    expected = [f"Parsing files in {exp_dir}"]
    expected += [f"file: {exp_dir / f'seed{s}' / 'log.txt'}. accuracy: {a:.2f}%. "
                 for s, a in enumerate(accs, start=1)]
    expected += ["===", f"Summary of directory: {exp_dir}",
                 f"* accuracy: {np.mean(accs):.2f}% +- {np.std(accs):.2f}%", "==="]
    assert out.splitlines() == expected


def test_coop_layout_log_only(tmp_path, capsys):
    """CoOp's own layout output/{ds}/CoOp/{cfg}_{K}shots/nctx{N}_csc{C}_ctp{P}/seed{S}."""
    exp = "oxford_pets/CoOp/rn50_ep50_16shots/nctx16_cscFalse_ctpend"
    accs = [86.1, 87.0, 85.5]
    for s, a in enumerate(accs, start=1):
        write_run(tmp_path, exp, s, log=train_log(a))
    code, out, _ = run_cli(tmp_path / exp, capsys=capsys)
    assert f"* accuracy: {np.mean(accs):.2f}% +- {np.std(accs):.2f}%" in out.splitlines()


def test_ci95(output, capsys):
    exp_dir = output / "caltech101" / "LAMM" / "vit_b16_ep50_ctxv1_2shots"
    accs = np.array(LAMM_EXPS["caltech101/LAMM/vit_b16_ep50_ctxv1_2shots"])
    ci = 1.96 * np.std(accs) / np.sqrt(len(accs))
    code, out, _ = run_cli(exp_dir, "--ci95", capsys=capsys)
    assert f"* accuracy: {np.mean(accs):.2f}% +- {ci:.2f}%" in out.splitlines()
    code, out, _ = run_cli(output, "--ci95", capsys=capsys)
    assert "mean ± ci95" in out and f"{np.mean(accs):.2f} ± {ci:.2f}" in out
    # The paper-shaped tables take the same flag (2 shots: only Caltech101 has runs). Tables
    # read records only, so these runs get theirs.
    for s, a in enumerate(accs, start=1):
        write_run(output, "caltech101/LAMM/vit_b16_ep50_ctxv1_2shots", s,
                  results=record(seed=s, acc=float(a), num_shots=2))
    code, out, _ = run_cli(output, "--ci95", "--table", "fewshot", capsys=capsys)
    assert f"{np.mean(accs):.2f} ± {ci:.2f} [1/11]" in out and "95% confidence interval" in out


def test_keyword(tmp_path, capsys):
    f1s = [88.3, 89.9]
    for s, f1 in enumerate(f1s, start=1):
        write_run(tmp_path, "exp", s, log=train_log(90.0, macro_f1=f1))
    code, out, _ = run_cli(tmp_path / "exp", "--keyword", "macro_f1", capsys=capsys)
    assert code == 0
    assert f"* macro_f1: {np.mean(f1s):.2f}% +- {np.std(f1s):.2f}%" in out.splitlines()
    assert out.count("macro_f1: ") == len(f1s) + 1


def test_test_log(tmp_path, capsys):
    accs = [55.5, 57.1, 56.0]
    for s, a in enumerate(accs, start=1):
        write_run(tmp_path, "evaluation/LAMM/cfg/imagenet_a", s, log=eval_log(a))
    exp_dir = tmp_path / "evaluation" / "LAMM" / "cfg" / "imagenet_a"
    code, out, err = run_cli(exp_dir, capsys=capsys)
    assert code == 1 and out == ""
    assert "Nothing found in" in err and "eval-only logs need --test-log" in err
    code, out, _ = run_cli(exp_dir, "--test-log", capsys=capsys)
    assert code == 0
    assert f"* accuracy: {np.mean(accs):.2f}% +- {np.std(accs):.2f}%" in out.splitlines()


def test_multi_exp(tmp_path, capsys):
    exps = {"exp-1": [70.0, 72.0], "exp-2": [80.1, 80.3, 80.8], "exp-10": [60.0]}
    for exp, accs in exps.items():
        for s, a in enumerate(accs, start=1):
            write_run(tmp_path, exp, s, log=train_log(a))
    (tmp_path / "README.txt").write_text("stray")
    (tmp_path / "not-an-exp").mkdir()
    code, out, _ = run_cli(tmp_path, "--multi-exp", capsys=capsys)
    assert code == 0
    lines = out.splitlines()
    summaries = [l for l in lines if l.startswith("Summary of directory")]
    assert summaries == [f"Summary of directory: {tmp_path / e}" for e in ("exp-1", "exp-2", "exp-10")]
    for accs in exps.values():
        assert f"* accuracy: {np.mean(accs):.2f}% +- {np.std(accs):.2f}%" in lines
    overall = np.mean([np.mean(a) for a in exps.values()])
    assert lines[-2:] == ["Average performance", f"* accuracy: {overall:.2f}%"]


# --------------------------------------------------------------------------- nothing found
def test_nothing_found_empty(tmp_path, capsys):
    (tmp_path / "runs" / "a").mkdir(parents=True)
    (tmp_path / "runs" / "a" / "log.txt").write_text(train_log(50.0))  # not in a seed* folder
    code, out, err = run_cli(tmp_path / "runs", capsys=capsys)
    assert code == 1 and out == ""
    assert f"Nothing found in {tmp_path / 'runs'}" in err
    assert "no seed*/log.txt" in err and "not named seed*" in err


def test_nothing_found_missing_dir(tmp_path, capsys):
    code, _, err = run_cli(tmp_path / "nope", capsys=capsys)
    assert code == 1 and "no such directory" in err


def test_nothing_found_wrong_keyword(output, capsys):
    code, _, err = run_cli(output, "--keyword", "top5", capsys=capsys)
    assert code == 1 and "check --keyword" in err


# --------------------------------------------------------------------------- formats
def test_csv(output, capsys):
    code, out, _ = run_cli(output, "--format", "csv", capsys=capsys)
    rows = {r["experiment"]: r for r in csv.DictReader(io.StringIO(out))}
    assert set(rows) == set(LAMM_EXPS)
    for exp, accs in LAMM_EXPS.items():
        assert int(rows[exp]["n"]) == len(accs)
        assert float(rows[exp]["mean"]) == pytest.approx(np.mean(accs))
        assert float(rows[exp]["std"]) == pytest.approx(np.std(accs))
        assert [float(v) for v in rows[exp]["values"].split()] == accs


def test_markdown(output, capsys):
    code, out, _ = run_cli(output, "--format", "markdown", "--table", "runs", capsys=capsys)
    lines = out.splitlines()
    assert lines[0].startswith("| experiment") and set(lines[1]) <= set("|:- ")
    assert len(lines) == 2 + len(LAMM_EXPS)


def test_format_on_single_experiment_gives_table(output, capsys):
    exp_dir = output / "dtd" / "LAMM" / "vit_b16_ep50_ctxv1_16shots"
    code, out, _ = run_cli(exp_dir, "--format", "json", capsys=capsys)
    (row,) = json.loads(out)
    assert row["experiment"] == "." and row["parts"] == []


def test_multi_exp_rejects_format(output):
    with pytest.raises(SystemExit) as e:
        parse_test_res.main([str(output), "--multi-exp", "--format", "csv"])
    assert e.value.code == 2


@pytest.mark.parametrize("odd, field, shown", [
    (dict(trainer="CoOp", method="CoOp", labels=None, loss={"ce": 1.0}), "method", "method=CoOp"),
    (dict(eval_only=True), "eval_only", "eval_only=True"),
    (dict(eval_only=True, untrained=True), "untrained", "untrained=True"),
    (dict(config_fingerprint="fedcba9876543210"), "config_fingerprint", "config_fingerprint=fedcba9876543210"),
])
def test_foreign_run_is_flagged_by_path_and_not_averaged(tmp_path, capsys, odd, field, shown):
    accs = [95.0, 94.0]
    for s, a in enumerate(accs, start=1):
        write_run(tmp_path, EXP, s, results=record(seed=s, acc=a))
    foreign = write_run(tmp_path, EXP, 3, results=record(seed=3, acc=10.0, **odd))
    exps = find_experiments(tmp_path)
    own, other = exps
    assert own.experiment == EXP and own.values == accs  # 10.0 is never in the mean
    assert other.experiment.startswith(f"{EXP} [") and shown in other.experiment and other.values == [10.0]
    assert any("foreign run" in f and str(foreign) in f for f in own.flags)
    assert any(f"foreign run(s) in {foreign.parent}" in f for f in other.flags)

    code, out, _ = run_cli(tmp_path, "--table", "runs", capsys=capsys)
    (line,) = [l for l in out.splitlines() if l.startswith("|") and l.split("|")[1].strip() == EXP]
    assert f"{np.mean(accs):.2f} ± {np.std(accs):.2f}" in line and str(foreign) in line
    (line,) = [l for l in out.splitlines() if l.startswith(f"| {EXP} [")]
    assert shown in line and line.split("|")[4].strip().startswith("10.00")
    if field in ("eval_only", "untrained"):  # labelled in the list too, not only in the name's brackets
        assert f"({'untrained' if field == 'untrained' else 'eval-only'})" in line.split("|")[1]

    # The single-folder summary is CoOp's over the folder's own runs; the foreign run goes to stderr.
    code, out, err = run_cli(tmp_path / EXP, capsys=capsys)
    assert f"* accuracy: {np.mean(accs):.2f}% +- {np.std(accs):.2f}%" in out.splitlines()
    assert str(foreign) in err and "10.00" not in out


def test_duplicate_seed_is_flagged_and_counted_once(tmp_path, capsys):
    write_run(tmp_path, EXP, 1, results=record(seed=1, acc=90.0))
    write_run(tmp_path, EXP, 2, results=record(seed=2, acc=92.0))
    copy = tmp_path / EXP / "seed2_copy"  # a copy of seed 2's run: the recorded seed decides
    copy.mkdir()
    (copy / "results.json").write_text(json.dumps(record(seed=2, acc=50.0)))
    (exp,) = find_experiments(tmp_path)
    assert exp.values == [90.0, 92.0] and exp.seeds == ["1", "2"]
    assert [r.path for r, _ in exp.excluded] == [str(copy)]
    assert any("duplicate seed 2" in f and str(copy) in f for f in exp.flags)
    code, out, _ = run_cli(tmp_path, "--format", "json", capsys=capsys)
    (row,) = json.loads(out)
    assert row["mean"] == pytest.approx(91.0) and row["excluded"][0]["path"] == str(copy)


def test_official_preset_is_labelled_in_the_list(tmp_path, capsys):
    for s in (1, 2):
        write_run(tmp_path, "a", s, results=record(seed=s, acc=80.0))
        write_run(tmp_path, "b", s, results=record(seed=s, acc=70.0, preset="official"))
    code, out, _ = run_cli(tmp_path, "--table", "runs", capsys=capsys)
    names = [l.split("|")[1].strip() for l in out.splitlines()[2:]]
    assert names == ["a", "b (official preset)"]
    code, out, _ = run_cli(tmp_path, "--format", "json", capsys=capsys)
    assert [r["labels"] for r in json.loads(out)] == [[], ["official preset"]]


def test_old_style_records_group_with_new_ones(tmp_path):
    """Records without record_version hold today's keys only; what they lack never makes them differ."""
    old = {"accuracy": 80.0, "split": "test", "seed": 1, "trainer": "LAMM", "dataset": "Caltech101",
           "num_shots": 16, "subsample_classes": "all", "backbone": "ViT-B/16", "eval_only": False, "epoch": 50}
    write_run(tmp_path, EXP, 1, results=old)
    write_run(tmp_path, EXP, 2, results=record(seed=2, acc=82.0))
    write_run(tmp_path, EXP, 3, results={**old, "seed": 3, "accuracy": 30.0, "num_shots": 4})
    own, other = find_experiments(tmp_path)
    assert own.values == [80.0, 82.0] and other.experiment == f"{EXP} [num_shots=4]"


def test_legacy_log_only_folder_still_summarised(tmp_path, capsys):
    """CoOp / MaPLe / official LAMM output (no results.json): CoOp's one-folder summary from log.txt."""
    exp = "base2new/train_base/caltech101/shots_16/MaPLe/vit_b16_c2_ep5_batch4_2ctx"
    accs = [97.1, 96.8, 97.4]
    for s, a in enumerate(accs, start=1):
        write_run(tmp_path, exp, s, log=train_log(a, end_signal="Finished training"))
    code, out, err = run_cli(tmp_path / exp, capsys=capsys)
    assert code == 0 and err == ""
    assert out.splitlines()[-2] == f"* accuracy: {np.mean(accs):.2f}% +- {np.std(accs):.2f}%"
    code, out, _ = run_cli(tmp_path, "--format", "json", capsys=capsys)
    (row,) = json.loads(out)
    assert row["experiment"] == exp and row["n"] == 3 and row["flags"] == []


def test_multi_exp_leaves_foreign_runs_out(tmp_path, capsys):
    for s, a in ((1, 70.0), (2, 72.0)):
        write_run(tmp_path, "exp-1", s, results=record(seed=s, acc=a))
    odd = write_run(tmp_path, "exp-1", 3, results=record(seed=3, acc=5.0, trainer="CoOp", method="CoOp"))
    code, out, err = run_cli(tmp_path, "--multi-exp", capsys=capsys)
    assert code == 0 and "* accuracy: 71.00% +- 1.00%" in out.splitlines()
    assert out.splitlines()[-1] == "* accuracy: 71.00%"
    assert str(odd) in err and "left out of the summary" in err


# --------------------------------------------------------------------------- --cost
def test_cost_columns_on_request(tmp_path, capsys):
    """--cost adds the records' cost fields, averaged over seeds, beside the accuracy; without it, nothing."""
    costs = [dict(wall_s=100.0, host_peak_gb=3.0, gpu_peak_gb=5.5, trainable_params=8192, train_images_per_s=40.0),
             dict(wall_s=300.0, host_peak_gb=4.0, gpu_peak_gb=6.5, trainable_params=8192, train_images_per_s=60.0)]
    for s, cost in enumerate(costs, start=1):
        write_run(tmp_path, EXP, s, results=record(seed=s, acc=90.0 + s, cost=cost))
    write_run(tmp_path, "no_cost", 1, log=train_log(50.0))  # CoOp's runs have no record: no cost

    code, out, _ = run_cli(tmp_path, "--table", "runs", "--cost", capsys=capsys)
    header = [c.strip() for c in out.splitlines()[0].strip("|").split("|")]
    assert header == ["experiment", "n", "seeds", "accuracy (mean ± std)", "wall (s)", "host GB", "GPU GB", "params",
                      "img/s", "flags"]
    (line,) = [l for l in out.splitlines() if l.startswith(f"| {EXP} ")]
    assert [c.strip() for c in line.strip("|").split("|")][4:9] == ["200", "3.50", "6.00", "8,192", "50.0"]
    (line,) = [l for l in out.splitlines() if l.startswith("| no_cost ")]
    assert [c.strip() for c in line.strip("|").split("|")][4:9] == ["-"] * 5

    code, out, _ = run_cli(tmp_path, "--format", "csv", "--cost", capsys=capsys)
    rows = {r["experiment"]: r for r in csv.DictReader(io.StringIO(out))}
    assert float(rows[EXP]["wall_s"]) == 200.0 and float(rows[EXP]["train_images_per_s"]) == 50.0
    assert rows["no_cost"]["gpu_peak_gb"] == ""
    code, out, _ = run_cli(tmp_path, "--table", "runs", capsys=capsys)
    assert "wall (s)" not in out and "img/s" not in out
    code, out, _ = run_cli(tmp_path, "--format", "json", capsys=capsys)
    assert {e["experiment"]: e["cost"]["wall_s"] for e in json.loads(out)} == {EXP: 200.0, "no_cost": None}

"""tools/runs/sweep.py: its command line (the scripts' words and environment included), the grid file,
the executors' flags, the local pool, and the errors it gives before any run starts."""
import os
import time

import pytest

from tools.runs import job, sweep
from tools.runs.grid import Grid, expand
from tools.runs.job import RAN
from tools.runs.run import RunError


def script_call(flags, positional, words, env):
    """What a script runs (scripts/_launch.sh adds --foreground): its flags, then its own words after ``--``."""
    args = sweep.parse_args(["--foreground", *flags, "--positional", *positional, "--", *words])
    return args, sweep.grid_from_args(args, env)


# --------------------------------------------------------------------------- command lines
def test_sweep_opts_do_not_swallow_the_flags_after_them():
    args = sweep.parse_args(["--methods", "LAMM", "--opts", "OPTIM.LR", "-0.5", "X", "--y", "--root", "/d",
                             "--dry-run"])
    assert args.opts == ["OPTIM.LR", "-0.5", "X", "--y"] and args.root == "/d" and args.dry_run
    assert sweep.parse_args(["--methods", "LAMM"]).opts is None


def test_script_arguments_and_environment_become_one_sweep_call(monkeypatch):
    env = {"SEEDS": "1 2", "TAG": "t", "DATA": "/d", "OFFICIAL": "1", "DIR": "/x"}
    monkeypatch.setenv("DATA", "/d")  # --root's default, read as the parser is built
    args, grid = script_call(["--methods", "LAMM"], ["datasets", "shots"],
                             ["--dry-run", "caltech101", "4", "OPTIM.LR", "0.1"], env)  # scripts/lamm/main.sh
    assert grid.methods == ("LAMM",) and grid.datasets == ("caltech101",) and grid.shots == ("4",)
    assert grid.seeds == ("1", "2") and grid.tag == "t" and args.root == "/d" and grid.official
    assert grid.opts == ("OPTIM.LR", "0.1") and args.foreground and args.dry_run and args.run_dir is None
    zero_shot, _ = script_call(["--methods", "ZeroshotCLIP", "--run-dir", env["DIR"]], ["datasets"], ["dtd"], env)
    assert zero_shot.run_dir == "/x" and zero_shot.methods == ["ZeroshotCLIP"]  # scripts/zsclip/zeroshot.sh
    dg_args, dg = script_call(["--protocol", "dg"], ["methods"], ["CoOp"], {"TARGETS": "imagenet_a", "DATASETS": "dtd"})
    assert dg.protocol == "dg" and dg.datasets == ("imagenet_a",) and dg.methods == ("CoOp",)


@pytest.mark.parametrize("protocol", ["dg", "cross_dataset"])
def test_datasets_narrows_the_transfer_protocols_too(protocol):
    """DATASETS narrows any sweep (TARGETS, where also given, names the targets of dg and cross_dataset)."""
    _, grid = script_call(["--protocol", protocol], ["methods"], ["LAMM"], {"DATASETS": "dtd"})
    assert grid.datasets == ("dtd",)
    _, fewshot = script_call(["--methods", "LAMM"], [], [], {"TARGETS": "dtd"})
    assert fewshot.datasets == ("all",)  # TARGETS means nothing to a few-shot grid


def test_flags_win_over_the_environment(monkeypatch):
    args = sweep.parse_args(["--methods", "LAMM", "--seeds", "3", "--shots", "2", "--datasets", "dtd"])
    grid = sweep.grid_from_args(args, {"SEEDS": "1", "SHOTS": "16", "DATASETS": "eurosat"})
    assert (grid.seeds, grid.shots, grid.datasets) == (("3",), ("2",), ("dtd",))


BAD_SCRIPT_CALLS = [
    (["--methods", "LAMM"], ["datasets", "shots"], ["caltech101", "4"], {"SEEDS": "0"},
     "SEEDS must be seed numbers of 1 or more"),
    (["--methods", "LAMM"], ["datasets", "shots"], ["caltech101", "4"], {"SEEDS": "1 -2"},
     "SEEDS must be seed numbers of 1 or more"),
    (["--methods", "LAMM"], ["datasets", "shots"], ["caltech101", "0"], {}, "SHOTS must be a positive number"),
    (["--methods", "LAMM"], ["datasets", "shots"], ["caltech101"], {}, "missing SHOTS"),
    (["--protocol", "base2new"], ["methods", "datasets"], ["LAMM", "dtd", "OPTIM.LR"], {}, "come in KEY VALUE pairs"),
]


@pytest.mark.parametrize("flags,positional,words,env,message", BAD_SCRIPT_CALLS, ids=[  # the IDs they had
    f"argv{i}-env{i}-{call[-1]}" for i, call in enumerate(BAD_SCRIPT_CALLS)])
def test_bad_script_arguments_are_one_error(flags, positional, words, env, message):
    with pytest.raises(RunError, match=message):
        script_call(flags, positional, words, env)


def test_foreground_is_not_combined_with_a_pool_or_submitit():
    with pytest.raises(RunError, match="--foreground runs one run at a time"):
        sweep.check_executor_flags(sweep.parse_args(["--methods", "LAMM", "--foreground", "--workers", "2"]))


def test_grid_file_gives_the_same_runs_as_flags_and_flags_win(tmp_path):
    grid_file = tmp_path / "grid.yaml"
    grid_file.write_text("methods: [LAMM, MaPLe]\ndatasets: caltech101\nshots: [1, 2]\nseeds: [1]\n"
                         "opts: {OPTIM.MAX_EPOCH: 2}\ntag: t\n")
    parse = sweep.parse_args
    from_file = sweep.grid_from_args(parse(["--grid", str(grid_file)]))
    from_flags = sweep.grid_from_args(parse(["--methods", "LAMM", "MaPLe", "--datasets", "caltech101", "--shots", "1",
                                             "2", "--seeds", "1", "--tag", "t", "--opts", "OPTIM.MAX_EPOCH", "2"]))
    assert expand(from_file, "o", "d") == expand(from_flags, "o", "d")
    assert sweep.grid_from_args(parse(["--grid", str(grid_file), "--seeds", "3"])).seeds == ("3",)
    grid_file.write_text("methods: LAMM\nepochs: 3\n")
    with pytest.raises(RunError, match=r"unknown key\(s\) epochs"):
        sweep.grid_from_args(parse(["--grid", str(grid_file)]))


@pytest.mark.parametrize("flags,match", [
    (["--submitit", "slurm", "--workers", "2"], "--workers set the local pool; with --submitit use"),
    (["--partition", "gpu", "--no-wait"], "--partition, --no-wait: submitit options; add --submitit"),
])
def test_flags_of_the_other_executor_are_rejected(flags, match):
    with pytest.raises(RunError, match=match):
        sweep.check_executor_flags(sweep.build_parser().parse_args(["--methods", "LAMM", *flags]))


# --------------------------------------------------------------------------- errors before any run
def one_error_line(capsys, argv):
    code = sweep.main(argv)
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("error: ") and len(err.strip().splitlines()) == 1, err
    return err


@pytest.mark.parametrize("how", [["--no-download"], []])
def test_the_sweep_stops_before_any_run_folder_when_data_is_missing(how, fake_prepare, tmp_path, capsys, monkeypatch):
    from datasets.prepare import ensure as prepare_data

    out = tmp_path / "out"
    datasets = ["dtd"] if how else ["imagenet"]  # refused download; manual steps
    one_error_line(capsys, ["--methods", "LAMM", "--datasets", *datasets, "--shots", "1", "--seeds", "1", "--output",
                            str(out), "--root", str(tmp_path / "data"), "--foreground", *how])
    assert not out.exists() and fake_prepare["prepared"] == []
    monkeypatch.setenv(prepare_data.NO_DOWNLOAD_ENV, "1")
    assert prepare_data.no_download_from_env()


@pytest.mark.parametrize("dry_run", [["--dry-run"], []])
def test_an_output_that_is_a_file_is_one_error(dry_run, tmp_path, capsys):
    """Not "1 not started" (--dry-run), not a traceback (a launch)."""
    output = tmp_path / "output"
    output.write_text("")
    grid = ["--methods", "LAMM", "--datasets", "dtd", "--shots", "1", "--seeds", "1", "--no-download"]
    err = one_error_line(capsys, [*grid, "--output", str(output), *dry_run])
    assert f"{output} is a file, not a folder" in err
    err = one_error_line(capsys, [*grid, "--output", str(output / "below"), *dry_run])
    assert f"{output} is a file, not a folder, so {output}/below cannot be made in it" in err


def test_an_output_that_cannot_be_written_is_one_error(tmp_path, capsys, monkeypatch):
    """A read-only OUTPUT (root here ignores permissions, so os.access answers as for another user)."""
    output = tmp_path / "output"
    output.mkdir()
    real_access = os.access
    monkeypatch.setattr(sweep.os, "access", lambda path, mode: path != str(output) and real_access(path, mode))
    grid = ["--methods", "LAMM", "--datasets", "dtd", "--shots", "1", "--seeds", "1", "--output", str(output)]
    err = one_error_line(capsys, [*grid, "--foreground"])
    assert f"cannot write in {output} (permission denied)" in err and not any(output.iterdir())
    assert sweep.main([*grid, "--dry-run"]) == 0  # listing a folder one cannot write is fine


# --------------------------------------------------------------------------- local pool
def test_pool_slots_give_each_worker_a_gpu_or_the_cpu(monkeypatch):
    assert sweep.pool_slots(["0", "1"], None) == ["0", "1"]
    assert sweep.pool_slots(["0", "1"], 3) == ["0", "1", "0"]
    assert sweep.pool_slots(["none"], 2) == ["", ""]
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "2,3")
    assert sweep.pool_slots(None, None) == ["2", "3"]
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")
    assert sweep.pool_slots(None, None) == [""]
    with pytest.raises(RunError, match="--workers must be 1 or more"):
        sweep.pool_slots(None, 0)


def test_pool_runs_one_run_per_gpu_at_a_time(tmp_path):
    runs = expand(Grid(methods=("LAMM",), datasets=("caltech101",), shots=(1, 2), seeds=(1, 2, 3)),
                  str(tmp_path), str(tmp_path))
    spans = []

    def fake_job(run, log_path, gpu=None):
        start = time.monotonic()
        time.sleep(0.1)
        spans.append((gpu, start, time.monotonic()))
        return job.Outcome(run, RAN, log_path)

    outcomes = sweep.run_pool(runs, {r: "log" for r in runs}, ["0", "1"], lambda o: None, job=fake_job)
    assert sorted(o.run.name for o in outcomes) == sorted(r.name for r in runs)
    assert {gpu for gpu, _, _ in spans} == {"0", "1"}
    for gpu in ("0", "1"):
        mine = sorted((s, e) for g, s, e in spans if g == gpu)
        assert all(end <= next_start for (_, end), (next_start, _) in zip(mine, mine[1:]))

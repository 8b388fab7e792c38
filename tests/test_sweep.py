"""tools/sweep.py: the grid names the scripts' folders, runs it on a local pool and through submitit,
skips what is finished, leaves locked runs alone, and resumes a run that was killed."""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from lamm.files import RunLock
from tests.fixtures import REPO_ROOT, run_command, tiny_opts
from tools import runs as runs_module
from tools import sweep, sweep_grid, sweep_job
from tools.runs import METHODS, Grid, expand, resolve_datasets, tag_suffix
from tools.runs import RunError as SweepError
from tools.sweep_job import RAN, RUNNING_ELSEWHERE, RunJob

MAPLE_OPTS = ["TRAINER.MAPLE.PREC", "fp32", "TRAINER.MAPLE.PROMPT_DEPTH", "2"]
GRID_FLAGS = ["--methods", "LAMM", "--datasets", "caltech101", "--shots", "1", "2", "--seeds", "1", "2"]
GRID_RUNS = [f"caltech101/LAMM/vit_b16_ep50_ctxv1_{k}shots_tiny/seed{s}" for k in (1, 2) for s in (1, 2)]


def sweep_command(data, output, *flags, opts=()):
    command = [sys.executable, "-m", "tools.sweep", "--root", str(data), "--output", str(output), "--tag", "tiny",
               *flags]
    return command + ["--opts", *opts] if opts else command


def finished_runs(output):
    return sorted(str(p.parent.relative_to(output)) for p in Path(output).glob("*/*/*/seed*/results.json"))


# --------------------------------------------------------------------------- the grid
ODD_OPTS = ["TRAINER.COOP.CTX_INIT", "une photo d'un ê", "OPTIM.LR", "--0.5", "X", "a//b  (1, 2)=ok", "Y", ""]


def python_stub(tmp_path):
    """An interpreter for the scripts that runs tools.runs for real and prints train.py's arguments."""
    stub = tmp_path / "python_stub"
    stub.write_text(f'#!/bin/sh\nif [ "$1" = train.py ]; then for a in "$@"; do printf "%s\\n" "$a"; done; '
                    f'exit 0; fi\nexec {sys.executable} "$@"\n')
    stub.chmod(0o755)
    return str(stub)


@pytest.mark.parametrize("trainer", list(METHODS))
@pytest.mark.parametrize("opts,tag", [((), ""), (("OPTIM.MAX_EPOCH", "2"), ""), (tuple(ODD_OPTS), ""),
                                      (("OPTIM.MAX_EPOCH", "2"), "mytag")])
def test_run_dir_is_the_folder_the_scripts_write(trainer, opts, tag, caltech_root, tmp_path):
    """The method's script passes tools.runs' run_dir to train.py, byte for byte (odd overrides too)."""
    stub = python_stub(tmp_path)
    (run,) = expand(Grid((trainer,), ("caltech101",), (4,), (3,), opts, tag), str(tmp_path / "out"),
                    caltech_root, python=stub)
    m = METHODS[trainer]
    script = f"scripts/{m.script_dir}/{'main.sh' if m.few_shot else 'zeroshot.sh'}"
    env = dict(os.environ, PYTHON=stub, DATA=caltech_root, OUTPUT=str(tmp_path / "out"), SEEDS="3", TAG=tag,
               LAMM_NO_DOWNLOAD="1")
    if trainer != "ZeroshotCLIP":
        env["DIR"] = str(tmp_path / "elsewhere")  # zeroshot.sh's folder override; no other script reads it
    command = ["bash", script, "caltech101", *(["4"] if m.few_shot else []), *opts]
    result = subprocess.run(command, cwd=REPO_ROOT, env=env, capture_output=True, text=True, check=True)
    args = result.stdout.split("\n")
    assert f"Running {run.run_dir}" in args
    assert args[args.index("--output-dir") + 1] == run.run_dir
    assert args[args.index("--seed") + 1] == str(run.seed) == ("1" if trainer == "ZeroshotCLIP" else "3")
    assert args[args.index("--config-file") + 1] == str(run.method.config_file(run.shots).relative_to(REPO_ROOT))
    start = args.index("train.py")  # the whole call, overrides and RUN.* labels included
    assert args[start:start + len(run.argv()) - 1] == run.argv()[1:]
    if opts:
        assert run.experiment.endswith("_" + (tag or tag_suffix(opts)))
        assert args[args.index("RUN.VARIANT") + 1] == (tag or tag_suffix(opts))


def test_tag_suffix_squeezes_like_tr():
    assert tag_suffix(["A.B", "(32, 32)"]) == "A.B-32-32-"
    assert tag_suffix(["K", "é--x"]) == "K-x"
    assert tag_suffix(["K", "v"], tag="t") == "t"


def test_expand_orders_runs_by_method_dataset_shots_seed(tmp_path):
    grid = Grid(methods=("CoOpLAMM", "zeroshotclip"), datasets=("caltech101",), shots=("2", "1", "2"), seeds=(2, 1))
    runs = expand(grid, str(tmp_path), str(tmp_path))
    assert [r.name for r in runs] == [
        "caltech101/CoOpLAMM/vit_b16_ep50_ctxv1_2shots/seed2", "caltech101/CoOpLAMM/vit_b16_ep50_ctxv1_2shots/seed1",
        "caltech101/CoOpLAMM/vit_b16_ep50_ctxv1_1shots/seed2", "caltech101/CoOpLAMM/vit_b16_ep50_ctxv1_1shots/seed1",
        "caltech101/ZeroshotCLIP/vit_b16/seed1",
    ]


@pytest.mark.parametrize("grid,match", [
    (Grid(methods=("LAM",), datasets=("caltech101",)), "unknown method 'LAM'; known: ZeroshotCLIP"),
    (Grid(methods=("LAMM",), datasets=("no_such_set",)), r"'no_such_set' has no config: .*no_such_set.yaml not found"),
    (Grid(methods=("LAMM",), datasets=("caltech101",), shots=(3,)), "LAMM has no config for 3 shots"),
    (Grid(methods=("LAMM",), datasets=("caltech101",), seeds=(0,)), "seeds must be 1 or more, got 0"),
    (Grid(methods=("LAMM",), datasets=("caltech101",), shots=("two",)), "shots must be whole numbers"),
    (Grid(methods=("LAMM",), datasets=("caltech101",), opts=("OPTIM.LR",)), "come in KEY VALUE pairs"),
])
def test_expand_rejects_grids_that_cannot_run(grid, match, tmp_path):
    with pytest.raises(SweepError, match=match):
        expand(grid, str(tmp_path), str(tmp_path))


def test_datasets_all_is_every_benchmark_dataset_with_a_config(monkeypatch, tmp_path):
    for name in ("dtd", "caltech101", "imagenet_sketch"):
        (tmp_path / f"{name}.yaml").write_text("DATASET:\n  NAME: X\n")
    monkeypatch.setattr(runs_module, "DATASET_CONFIG_DIR", tmp_path)
    notes = []
    assert resolve_datasets(["all"], notes) == ["caltech101", "dtd"]  # the benchmark's order
    assert "2 of 11" in notes[0] and "imagenet, oxford_pets" in notes[0]
    assert resolve_datasets(["imagenet_sketch", "all"]) == ["imagenet_sketch", "caltech101", "dtd"]
    for name in ("caltech101", "dtd"):
        (tmp_path / f"{name}.yaml").unlink()
    with pytest.raises(SweepError, match="none of the benchmark datasets has a config"):
        resolve_datasets(["all"])


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
    with pytest.raises(SweepError, match=r"unknown key\(s\) epochs"):
        sweep.grid_from_args(parse(["--grid", str(grid_file)]))


@pytest.mark.parametrize("flags,match", [
    (["--submitit", "slurm", "--workers", "2"], "--workers set the local pool; with --submitit use"),
    (["--partition", "gpu", "--no-wait"], "--partition, --no-wait: submitit options; add --submitit"),
])
def test_flags_of_the_other_executor_are_rejected(flags, match):
    with pytest.raises(SweepError, match=match):
        sweep.check_executor_flags(sweep.build_parser().parse_args(["--methods", "LAMM", *flags]))


def test_pool_slots_give_each_worker_a_gpu_or_the_cpu(monkeypatch):
    assert sweep.pool_slots(["0", "1"], None) == ["0", "1"]
    assert sweep.pool_slots(["0", "1"], 3) == ["0", "1", "0"]
    assert sweep.pool_slots(["none"], 2) == ["", ""]
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "2,3")
    assert sweep.pool_slots(None, None) == ["2", "3"]
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")
    assert sweep.pool_slots(None, None) == [""]
    with pytest.raises(SweepError, match="--workers must be 1 or more"):
        sweep.pool_slots(None, 0)


def test_pool_runs_one_run_per_gpu_at_a_time(tmp_path):
    runs = expand(Grid(methods=("LAMM",), datasets=("caltech101",), shots=(1, 2), seeds=(1, 2, 3)),
                  str(tmp_path), str(tmp_path))
    spans = []

    def fake_job(run, log_path, gpu=None):
        start = time.monotonic()
        time.sleep(0.1)
        spans.append((gpu, start, time.monotonic()))
        return sweep_job.Outcome(run, RAN, log_path)

    outcomes = sweep.run_pool(runs, {r: "log" for r in runs}, ["0", "1"], lambda o: None, job=fake_job)
    assert sorted(o.run.name for o in outcomes) == sorted(r.name for r in runs)
    assert {gpu for gpu, _, _ in spans} == {"0", "1"}
    for gpu in ("0", "1"):
        mine = sorted((s, e) for g, s, e in spans if g == gpu)
        assert all(end <= next_start for (_, end), (next_start, _) in zip(mine, mine[1:]))


# --------------------------------------------------------------------------- status and locks
def test_dry_run_lists_every_run_and_its_status(tmp_path):
    out = tmp_path / "out"
    runs = expand(Grid(methods=("LAMM",), datasets=("caltech101",), shots=(1, 2), seeds=(1, 2)), str(out), "data")
    done, unfinished, locked, _ = (Path(r.run_dir) for r in runs)
    done.mkdir(parents=True)
    (done / "results.json").write_text('{"accuracy": 50.0}')
    (done / "log.txt").write_text("")
    (unfinished / "prompt_learner").mkdir(parents=True)
    (unfinished / "prompt_learner" / "model.pth.tar-3").write_text("")
    (unfinished / "prompt_learner" / "checkpoint").write_text("model.pth.tar-3\n")
    with RunLock(str(locked)):
        _, printed = run_command(sweep_command("data", out, *GRID_FLAGS, "--dry-run"))
    lines = printed.strip().splitlines()
    assert "4 runs in" in lines[0] and "1 finished, 1 unfinished, 1 running elsewhere, 1 not started" in lines[0]
    assert lines[1].split() == ["finished", runs[0].name]
    assert lines[2].split() == ["unfinished", runs[1].name, "(checkpoint", "at", "epoch", "3)"]
    assert lines[3].startswith("running elsewhere") and f"(pid {os.getpid()} on" in lines[3]
    assert lines[4].split() == ["not", "started", runs[3].name]
    assert not (out / ".sweeps").exists()


def test_a_run_locked_by_another_process_is_left_alone(caltech_root, tiny_clip_file, tmp_path, monkeypatch):
    out = tmp_path / "out"
    flags = ["--methods", "LAMM", "--datasets", "caltech101", "--shots", "1", "--seeds", "1"]
    (run,) = expand(Grid(("LAMM",), ("caltech101",), (1,), (1,), tuple(tiny_opts(tiny_clip_file)), "tiny"),
                    str(out), caltech_root, sys.executable)
    with RunLock(run.run_dir):
        code, printed = run_command(sweep_command(caltech_root, out, *flags, opts=tiny_opts(tiny_clip_file)))
        assert code == 0 and "0 to run (0 resumed), 0 already finished, 1 running elsewhere" in printed
        assert f"{run.name}: pid {os.getpid()}" in printed
        assert os.listdir(run.run_dir) == [".lock"]

        # Two launches that both pass the probe: train.py's own lock turns the second one away.
        monkeypatch.setattr(sweep_job, "lock_holder", lambda run_dir: None)
        outcome = RunJob()(run, str(tmp_path / "raced.log"))
        assert outcome.status == RUNNING_ELSEWHERE and outcome.returncode == 2
        assert "is being run by another process" in Path(outcome.log).read_text()
        assert os.listdir(run.run_dir) == [".lock"]


def test_a_failed_run_is_reported_with_its_error_and_log(caltech_root, tiny_clip_file, tmp_path):
    out = tmp_path / "out"
    opts = tiny_opts(tiny_clip_file, "OPTIM.MAX_EPOCH", "0")  # train.py exits 2, as for a locked run
    code, printed = run_command(sweep_command(caltech_root, out, "--methods", "LAMM", "--datasets", "caltech101",
                                              "--shots", "1", "--seeds", "1", opts=opts), check=False)
    assert code == 1 and "done: 1 run: 0 ran, 0 already finished, 0 running elsewhere, 1 failed" in printed
    assert "caltech101/LAMM/vit_b16_ep50_ctxv1_1shots_tiny/seed1: exit 2: error: OPTIM.MAX_EPOCH" in printed
    log = Path(printed.split("    log: ")[1].split()[0])
    (run,) = expand(Grid(("LAMM",), ("caltech101",), (1,), (1,), tuple(opts), "tiny"), str(out), caltech_root,
                    sys.executable)
    # The log starts with the exact train.py call, copyable to rerun the run by hand.
    assert log.is_file() and log.read_text().startswith(f"# {run.shell_line()}\n")
    assert f"--output-dir {out}/caltech101/LAMM/vit_b16_ep50_ctxv1_1shots_tiny/seed1 DATASET.NUM_SHOTS 1" in \
        log.read_text()


# --------------------------------------------------------------------------- real runs
def test_local_pool_runs_the_grid_with_two_workers_then_nothing(caltech_root, tiny_clip_file, tmp_path):
    out = tmp_path / "out"
    command = sweep_command(caltech_root, out, *GRID_FLAGS, "--workers", "2", opts=tiny_opts(tiny_clip_file))
    _, printed = run_command(command)
    assert "running 4 runs, 2 at a time, on the CPU" in printed
    assert "done: 4 runs: 4 ran, 0 already finished, 0 running elsewhere, 0 failed" in printed
    assert finished_runs(out) == GRID_RUNS
    table = printed[printed.index("| experiment"):].splitlines()
    assert len(table) == 4 and "| caltech101/LAMM/vit_b16_ep50_ctxv1_1shots_tiny |   2 | 1,2" in table[2]
    (launch,) = (out / ".sweeps").iterdir()
    assert json.loads((launch / "sweep.json").read_text())["outcomes"][GRID_RUNS[0]]["status"] == RAN

    _, printed = run_command(command)
    assert "0 to run (0 resumed), 4 already finished" in printed and "[1/" not in printed
    assert "| caltech101/LAMM/vit_b16_ep50_ctxv1_2shots_tiny |   2 | 1,2" in printed
    assert len(list((out / ".sweeps").iterdir())) == 1  # nothing launched
    assert not list(out.glob("*/*/*/seed*/log.txt-*"))  # no run was started twice


def test_submitit_local_executor_runs_the_same_grid(caltech_root, tiny_clip_file, tmp_path):
    pytest.importorskip("submitit")
    out = tmp_path / "out"
    command = sweep_command(caltech_root, out, *GRID_FLAGS, "--submitit", "local", opts=tiny_opts(tiny_clip_file))
    _, printed = run_command(command)
    assert "submitted 4 job(s) to submitit's local executor" in printed
    assert "done: 4 runs: 4 ran, 0 already finished, 0 running elsewhere, 0 failed" in printed
    assert finished_runs(out) == GRID_RUNS
    (launch,) = (out / ".sweeps").iterdir()
    assert len(list((launch / "submitit").glob("*_result.pkl"))) == 4  # went through submitit's jobs

    _, printed = run_command(command)
    assert "0 to run (0 resumed), 4 already finished" in printed and "submitted" not in printed


def start_sweep_and_wait_for_a_checkpoint(command, run_dir):
    """Start the sweep in the background; return it once the run has written its first checkpoint.

    The ``checkpoint`` note is written after the model file and is what a resumed run reads.
    """
    process = subprocess.Popen(command, cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                               env=dict(os.environ, PYTHON=sys.executable))
    deadline = time.monotonic() + 120
    while not (run_dir / "prompt_learner" / "checkpoint").is_file():
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            pytest.fail(f"no checkpoint in {run_dir}:\n{process.communicate()[0][-3000:]}")
        time.sleep(0.02)
    return process


def test_interrupting_the_sweep_stops_its_runs(caltech_root, tiny_clip_file, tmp_path):
    out = tmp_path / "out"
    opts = tiny_opts(tiny_clip_file, "OPTIM.MAX_EPOCH", "10", "TRAIN.CHECKPOINT_FREQ", "1")
    command = sweep_command(caltech_root, out, "--methods", "LAMM", "--datasets", "caltech101", "--shots", "2",
                            "--seeds", "1", opts=opts)
    run_dir = out / "caltech101/LAMM/vit_b16_ep50_ctxv1_2shots_tiny/seed1"
    process = start_sweep_and_wait_for_a_checkpoint(command, run_dir)
    try:
        process.send_signal(signal.SIGINT)  # Ctrl-C
        printed, _ = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 130 and "interrupted: stopped 1 run(s)" in printed
    assert not (run_dir / "results.json").exists()
    assert sweep_grid.lock_holder(str(run_dir)) is None  # train.py is gone, not orphaned


def test_a_killed_run_resumes_on_the_next_launch(caltech_root, tiny_clip_file, tmp_path):
    out = tmp_path / "out"
    opts = tiny_opts(tiny_clip_file, "OPTIM.MAX_EPOCH", "10", "TRAIN.CHECKPOINT_FREQ", "1")
    flags = ["--methods", "LAMM", "--datasets", "caltech101", "--shots", "2", "--seeds", "1"]
    command = sweep_command(caltech_root, out, *flags, opts=opts)
    run_dir = out / "caltech101/LAMM/vit_b16_ep50_ctxv1_2shots_tiny/seed1"
    sweep_process = start_sweep_and_wait_for_a_checkpoint(command, run_dir)
    try:
        train_pid = int((run_dir / ".lock").read_text().split()[1])  # "pid N on host", written by train.py
        os.kill(train_pid, signal.SIGKILL)
        printed, _ = sweep_process.communicate(timeout=60)
    finally:
        if sweep_process.poll() is None:
            sweep_process.kill()
    assert not (run_dir / "results.json").exists(), "the run finished before it was killed"
    assert sweep_process.returncode == 1
    assert "FAILED" in printed and "killed by SIGKILL" in printed  # train.py itself, no shell in between
    failed_log = printed.split("    log: ")[1].split()[0]
    assert Path(failed_log).is_file() and f"    run log: {run_dir}/log.txt" in printed

    _, listed = run_command(sweep_command(caltech_root, out, *flags, "--dry-run", opts=opts))
    assert "1 unfinished" in listed and "(checkpoint at epoch" in listed

    _, printed = run_command(command)
    assert "1 to run (1 resumed)" in printed and "done: 1 run: 1 ran" in printed
    resumed_log = printed.split("logs of this launch: ")[1].split()[0] + "/caltech101/LAMM/" + run_dir.parent.name
    assert "Found checkpoint at" in (Path(resumed_log) / "seed1.log").read_text()
    assert json.loads((run_dir / "results.json").read_text())["epoch"] == 10

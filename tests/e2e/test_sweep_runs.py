"""tools/runs/sweep.py running real grids: a local pool, submitit's local executor, locks, failures, interrupts,
resumes; and what a sweep process does at its start and when its reader goes away."""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.fixtures import REPO_ROOT, run_command, tiny_opts
from tools.runs import job
from trainers import run_folder as status
from trainers.run_folder import RunLock
from tools.runs.grid import Grid, expand
from tools.runs.job import RAN, RUNNING_ELSEWHERE, RunJob

pytestmark = pytest.mark.slow  # a real entry point in a new process: run with -m slow or -m "not gpu"

GRID_FLAGS = ["--methods", "LAMM", "--datasets", "caltech101", "--shots", "1", "2", "--seeds", "1", "2"]


GRID_RUNS = [f"caltech101/LAMM/vit_b16_ep50_ctxv1_{k}shots_tiny/seed{s}" for k in (1, 2) for s in (1, 2)]


def sweep_command(data, output, *flags, opts=()):
    command = [sys.executable, "-m", "tools.runs.sweep", "--root", str(data), "--output", str(output), "--tag", "tiny",
               *flags]
    return command + ["--opts", *opts] if opts else command


def finished_runs(output):
    return sorted(str(p.parent.relative_to(output)) for p in Path(output).glob("*/*/*/seed*/results.json"))


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
        monkeypatch.setattr(job, "lock_holder", lambda run_dir: None)
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
    assert status.lock_holder(str(run_dir)) is None  # train.py is gone, not orphaned


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


# --------------------------------------------------------------------------- a fresh process
def test_the_sweep_and_the_method_table_import_neither_torch_nor_dassl():
    """A sweep, and each of its jobs, starts light: importing Dassl would also start its network check."""
    code = ("import sys, tools.runs.sweep, tools.runs.job, trainers.methods; "
            "print(sorted(m for m in ('torch', 'dassl', 'clip') if m in sys.modules))")
    _, printed = run_command([sys.executable, "-c", code])
    assert printed.strip().splitlines()[-1] == "[]"


def test_the_listing_piped_into_head_ends_quietly(tmp_path):
    """``python -m tools.runs.sweep ... --dry-run | head -1``: no BrokenPipeError traceback."""
    command = sweep_command("data", tmp_path / "out", "--methods", "all", "--datasets", "all", "--dry-run", "-v")
    process = subprocess.Popen(command, cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    first = process.stdout.readline()
    process.stdout.close()  # what head does after its line
    err = process.stderr.read().decode()
    assert process.wait(timeout=60) == 141 and b" runs in " in first  # the listing is far longer than a pipe holds
    assert "Traceback" not in err and "BrokenPipeError" not in err and err == "", err

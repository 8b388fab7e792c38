"""trainers/run_folder.py: a run folder's files, lock, checkpoint names, status and output checks."""
import json
import os
import tempfile
from pathlib import Path

import pytest

from lamm.errors import ConfigError
from trainers import run_folder
from trainers.record import read_record
from trainers.run_folder import (FINISHED, NOT_STARTED, RUNNING, UNFINISHED, RunLock, RunLockedError,
                                 check_output_dir, checkpoint_file, clear_run_folder, lock_holder, run_status)


def read_only_folder(tmp_path) -> Path:
    """A folder this process cannot create anything in: a 0555 folder, or /sys for root (whom the mode
    does not stop)."""
    if os.geteuid() != 0:
        folder = tmp_path / "read-only"
        folder.mkdir()
        folder.chmod(0o555)
        return folder
    try:
        os.rmdir(tempfile.mkdtemp(dir="/sys"))
    except OSError:
        return Path("/sys")
    pytest.skip("running as root where /sys can be written: no folder here refuses a write")


def test_the_lock_refuses_a_second_holder_and_says_who_holds_it(tmp_path):
    run = str(tmp_path / "run")
    assert lock_holder(run) is None
    with RunLock(run):
        holder = lock_holder(run)
        assert holder == f"pid {os.getpid()} on {os.uname().nodename}"
        with pytest.raises(RunLockedError, match=r"is being run by another process \(pid "):
            RunLock(run).__enter__()
        assert run_status(run) == (RUNNING, holder)
    assert lock_holder(run) is None


def test_the_status_of_a_run_folder(tmp_path):
    run = tmp_path / "run"
    assert run_status(str(run)) == (NOT_STARTED, "")
    (run / "prompt_learner").mkdir(parents=True)
    assert run_status(str(run)) == (UNFINISHED, "no checkpoint")
    (run / "prompt_learner" / "model.pth.tar-3").write_bytes(b"x")
    (run / "prompt_learner" / "checkpoint").write_text("model.pth.tar-3\n")
    assert run_status(str(run)) == (UNFINISHED, "checkpoint at epoch 3")
    assert checkpoint_file(str(run / "prompt_learner")) == str(run / "prompt_learner" / "model.pth.tar-3")
    (run / "results.json").write_text('{"accuracy": 5')  # cut off mid-write
    assert run_status(str(run)) == (UNFINISHED, "checkpoint at epoch 3; its results.json is unreadable, so it runs again")
    (run / "results.json").write_text(json.dumps({"accuracy": 50.0}))
    assert run_status(str(run)) == (FINISHED, "")


def test_restart_clears_only_what_a_run_writes(tmp_path):
    run = tmp_path / "run"
    (run / "prompt_learner").mkdir(parents=True)
    (run / "prompt_learner" / "model.pth.tar-1").write_bytes(b"x")
    for name in ("config.yaml", "env.txt", "log.txt", "log.txt-2026-01-01-00-00-00", "results.json", "notes.md"):
        (run / name).write_text("x")
    (run / "tensorboard").mkdir()
    removed = clear_run_folder(str(run))
    assert removed == ["config.yaml", "env.txt", "log.txt", "log.txt-2026-01-01-00-00-00", "prompt_learner",
                       "results.json", "tensorboard"]
    assert sorted(os.listdir(run)) == ["notes.md"]


def test_the_run_kind_is_the_first_line_of_config_yaml(tmp_path):
    run_folder.write_run_files(str(tmp_path), "SEED: 1\n", "env", eval_only=True)
    assert run_folder.existing_run_kind(str(tmp_path)) == "eval-only"
    assert (tmp_path / "env.txt").read_text() == "env\n"
    run_folder.write_run_files(str(tmp_path), "SEED: 1\n", "env")
    assert run_folder.existing_run_kind(str(tmp_path)) == "training"


def test_an_output_folder_that_cannot_be_written_is_refused_before_anything_runs(tmp_path):
    folder = read_only_folder(tmp_path)
    with pytest.raises(ConfigError, match=r"--output-dir .*/run/seed1: cannot write in .* Give a folder you can write"):
        check_output_dir(str(folder / "run" / "seed1"))
    check_output_dir(str(tmp_path / "writable" / "run"))
    assert not (tmp_path / "writable").exists() and os.listdir(tmp_path) in ([], ["read-only"])  # the probe left nothing


def test_a_corrupt_record_is_not_a_finished_run(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    (run / "results.json").write_text('{"accuracy": 5')  # cut off mid-write
    assert read_record(str(run)) is None
    status, detail = run_status(str(run))
    assert status == UNFINISHED and "unreadable, so it runs again" in detail
    (run / "results.json").write_text(json.dumps({"split": "test"}))  # parses, but no accuracy
    assert run_status(str(run))[0] == UNFINISHED
    (run / "results.json").write_text(json.dumps({"accuracy": 50.0}))
    assert run_status(str(run)) == (FINISHED, "")

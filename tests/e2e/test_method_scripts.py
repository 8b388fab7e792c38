"""Each method's script end to end on synthetic data: train, skip, resume, evaluate."""
import json
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from tests.fixtures import REPO_ROOT, run_command, run_train_process, tiny_opts
from tools.runs.grid import Grid, expand
from tools.runs.variants import tag_suffix
from trainers.methods import METHODS

pytestmark = pytest.mark.slow  # a real entry point in a new process: run with -m slow or -m "not gpu"

SCRIPTS = {
    "coop": ("CoOp", "vit_b16_ep50_ctxv1", "prompt_learner", []),
    "coop_lamm": ("CoOpLAMM", "vit_b16_ep50_ctxv1", "prompt_learner", []),
    "cocoop": ("CoCoOp", "vit_b16_c4_ep10_batch1_ctxv1", "prompt_learner", ["TRAINER.COCOOP.PREC", "fp32"]),
    "cocoop_lamm": ("CoCoOpLAMM", "vit_b16_c4_ep10_batch1_ctxv1", "prompt_learner", ["TRAINER.COCOOP.PREC", "fp32"]),
    "maple": ("MaPLe", "vit_b16_c2_ep5_batch4_2ctx", "MultiModalPromptLearner",
              ["TRAINER.MAPLE.PREC", "fp32", "TRAINER.MAPLE.PROMPT_DEPTH", "2"]),
    "maple_lamm": ("MaPLeLAMM", "vit_b16_c2_ep5_batch4_2ctx", "MultiModalPromptLearner",
                   ["TRAINER.MAPLE.PREC", "fp32", "TRAINER.MAPLE.PROMPT_DEPTH", "2"]),
}
# Every documented script and the grid of tools/runs it must mean (same folders, same order).
SCRIPT_GRIDS = [
    (["scripts/lamm/main.sh", "dtd", "4", "OPTIM.LR", "0.1"], {},
     Grid(("LAMM",), ("dtd",), (4,), opts=("OPTIM.LR", "0.1"))),
    (["scripts/maple_lamm/main.sh", "dtd", "2"], {"OFFICIAL": "1"},
     Grid(("MaPLeLAMM",), ("dtd",), (2,), official=True)),
    (["scripts/coop/fewshot.sh"], {"DATASETS": "dtd eurosat"}, Grid(("CoOp",), ("dtd", "eurosat"))),
    (["scripts/coop_lamm/fewshot_wo_hl.sh"], {"DATASETS": "dtd", "SHOTS": "1 2"},
     Grid(("CoOpLAMM",), ("dtd",), (1, 2), variants=("woHL",))),
    (["scripts/cocoop/fewshot.sh"], {"DATASETS": "dtd"}, Grid(("CoCoOp",), ("dtd",))),
    (["scripts/cocoop_lamm/fewshot_wo_hl.sh"], {"DATASETS": "dtd", "SHOTS": "1"},
     Grid(("CoCoOpLAMM",), ("dtd",), (1,), variants=("woHL",))),
    (["scripts/base2new.sh", "CoCoOp", "dtd"], {}, Grid(("CoCoOp",), ("dtd",), protocol="base2new")),
    (["scripts/lamm/ablation_init.sh"], {"DATASETS": "dtd"}, Grid(("LAMM",), ("dtd",), variants=("random_init",))),
    (["scripts/lamm/ablation_loss.sh"], {"DATASETS": "dtd", "SHOTS": "1"},
     Grid(("LAMM",), ("dtd",), (16,), variants=("loss",))),  # always 16 shots (Table 4)
    (["scripts/ablation_backbone.sh", "CoOp"], {"DATASETS": "dtd"},
     Grid(("CoOp",), ("dtd",), (16,), variants=("backbones",))),
    (["scripts/ablation_backbone.sh", "LAMM"], {"DATASETS": "dtd", "BACKBONES": "RN50 ViT-B/16"},
     Grid(("LAMM",), ("dtd",), (16,), variants=("rn50", "default"))),
    (["scripts/dg.sh", "LAMM", "OPTIM.LR", "0.1"], {"TARGETS": "imagenet_a"},
     Grid(("LAMM",), ("imagenet_a",), protocol="dg", opts=("OPTIM.LR", "0.1"))),
    (["scripts/incremental.sh", "CoOp", "dtd"], {"SHOTS": "2"},
     Grid(("CoOp",), ("dtd",), (2,), protocol="incremental")),
    (["scripts/incremental.sh", "ZeroshotCLIP", "dtd"], {},
     Grid(("ZeroshotCLIP",), ("dtd",), protocol="incremental")),
    (["scripts/base2new.sh", "MaPLe", "dtd"], {}, Grid(("MaPLe",), ("dtd",), protocol="base2new")),
    (["scripts/cross_dataset.sh", "CoOpLAMM"], {"TARGETS": "dtd eurosat"},
     Grid(("CoOpLAMM",), ("dtd", "eurosat"), protocol="cross_dataset")),
    # DATASETS narrows any sweep, the transfer protocols' targets too (TARGETS, when set, wins).
    (["scripts/cross_dataset.sh", "LAMM"], {"DATASETS": "dtd"}, Grid(("LAMM",), ("dtd",), protocol="cross_dataset")),
    (["scripts/dg.sh", "CoOp"], {"DATASETS": "imagenet_r"}, Grid(("CoOp",), ("imagenet_r",), protocol="dg")),
    (["scripts/main.sh", "CoOpLAMM", "dtd", "2", "OPTIM.LR", "0.1"], {},  # any method, without a script folder
     Grid(("CoOpLAMM",), ("dtd",), (2,), opts=("OPTIM.LR", "0.1"))),
    (["scripts/zsclip/zeroshot.sh", "dtd"], {}, Grid(("ZeroshotCLIP",), ("dtd",))),
    (["scripts/zsclip/zeroshot_all.sh"], {"DATASETS": "dtd imagenet_a"},
     Grid(("ZeroshotCLIP",), ("dtd", "imagenet_a"))),
]
# --------------------------------------------------------------------------- the grid
ODD_OPTS = ["TRAINER.COOP.CTX_INIT", "une photo d'un ê", "OPTIM.LR", "--0.5", "X", "a//b  (1, 2)=ok", "Y", ""]


@pytest.mark.parametrize("script", list(SCRIPTS))
def test_method_script_trains_resumes_and_evaluates(script, caltech_root, tiny_clip_file, tmp_path):
    trainer, config, model_name, extra = SCRIPTS[script]
    env = {"DATA": caltech_root, "OUTPUT": str(tmp_path), "SEEDS": "1", "TAG": "tiny"}
    command = ["bash", f"scripts/{script}/main.sh", "caltech101", "2", *tiny_opts(tiny_clip_file, *extra)]
    run_command(command, env=env)
    run = Path(tmp_path) / "caltech101" / trainer / f"{config}_2shots_tiny" / "seed1"
    assert (run / model_name / "model.pth.tar-2").is_file()
    trained = json.loads((run / "results.json").read_text())
    assert trained["trainer"] == trainer and trained["num_shots"] == 2

    _, log = run_command(command, env=env)
    assert "Results are available" in log and "epoch [" not in log
    (run / "results.json").unlink()
    _, log = run_command(command, env=env)
    assert "Found checkpoint at" in log and "Previous epoch: 2" in log
    assert json.loads((run / "results.json").read_text())["accuracy"] == trained["accuracy"]

    run_train_process("--root", caltech_root, "--seed", "1", "--trainer", trainer,
              "--dataset-config-file", "configs/datasets/caltech101.yaml",
              "--config-file", f"configs/trainers/{trainer}/{config}_2shots.yaml",
              "--output-dir", str(tmp_path / "eval"), "--eval-only", "--model-dir", str(run), "--load-epoch", "2",
              *tiny_opts(tiny_clip_file, *extra))
    assert json.loads((tmp_path / "eval" / "results.json").read_text())["accuracy"] == trained["accuracy"]


def test_zeroshot_script_evaluates_without_training(caltech_root, tiny_clip_file, tmp_path):
    env = {"DATA": caltech_root, "OUTPUT": str(tmp_path), "TAG": "tiny", "LAMM_VERBOSE": "1"}  # the prompts: set-up detail
    command = ["bash", "scripts/zsclip/zeroshot.sh", "caltech101", *tiny_opts(tiny_clip_file)]
    _, log = run_command(command, env=env)
    assert "a photo of a airplane." in log and "epoch [" not in log
    run = Path(tmp_path) / "caltech101" / "ZeroshotCLIP" / "vit_b16_tiny" / "seed1"
    results = json.loads((run / "results.json").read_text())
    assert results["trainer"] == "ZeroshotCLIP" and 0 <= results["accuracy"] <= 100
    _, log = run_command(command, env=env)
    assert "Results are available" in log


@pytest.mark.parametrize("command,env,grid", SCRIPT_GRIDS, ids=[" ".join(c[0][:2]) for c in SCRIPT_GRIDS])
def test_each_script_runs_the_folders_tools_runs_names(command, env, grid, tmp_path):
    """No script names a run itself: its --dry-run lists exactly expand()'s runs and train.py calls."""
    seeds = (1,) if "ZeroshotCLIP" in grid.methods else (1, 3)
    env = {"OUTPUT": str(tmp_path), "DATA": str(tmp_path / "data"), "SEEDS": " ".join(map(str, seeds)), "TAG": "",
           **env}
    _, printed = run_command(["bash", command[0], "--dry-run", "-v", *command[1:]], env=env)
    runs = expand(replace(grid, seeds=seeds), str(tmp_path), str(tmp_path / "data"), python=sys.executable)
    lines = printed.strip().splitlines()
    assert lines[0].startswith(f"{len(runs)} run")
    assert [line.split()[-1] for line in lines[1::2]] == [r.name for r in runs]
    assert [line.strip() for line in lines[2::2]] == [r.shell_line() for r in runs]


def test_scripts_refuse_seed_zero_before_anything_runs(tmp_path):
    code, output = run_command(["bash", "scripts/lamm/main.sh", "caltech101", "4"],
                               env={"SEEDS": "0", "OUTPUT": str(tmp_path)}, check=False)
    assert code == 2 and "error: SEEDS must be seed numbers of 1 or more" in output and "Traceback" not in output
    assert not any(tmp_path.iterdir())


def test_scripts_hold_no_loops_and_no_naming():
    """The experiment layer lives in tools/runs.py: scripts only call it."""
    for script in Path(REPO_ROOT, "scripts").rglob("*.sh"):
        body = [line for line in script.read_text().splitlines() if not line.startswith("#")]
        text = "\n".join(body)
        assert "for " not in text and "while " not in text and "train.py" not in text, script
        # Each script hands its arguments to tools.runs, through the one interpreter chooser.
        launcher = script.name == "_launch.sh"
        assert ("-m tools.runs" if launcher else "exec bash scripts/_launch.sh ") in text, script


def test_scripts_refuse_the_source_dataset_as_a_target(tmp_path):
    """TARGETS=imagenet would evaluate the ImageNet run on ImageNet, filed as a cross-dataset result."""
    for script in ("cross_dataset.sh", "dg.sh"):
        code, output = run_command(["bash", f"scripts/{script}", "LAMM"], env={"TARGETS": "imagenet",
                                                                               "OUTPUT": str(tmp_path)}, check=False)
        assert code == 2 and "error: imagenet is where" in output and "Traceback" not in output, output
        assert len(output.strip().splitlines()) == 1 and not any(tmp_path.iterdir())


def test_a_read_only_output_is_one_error_line(tmp_path):
    """OUTPUT= a folder that cannot be written: one error line before any run. Root ignores
    permissions, so as root the folder is made immutable (chattr +i) instead of read-only."""
    output = tmp_path / "output"
    output.mkdir()
    lock = ["chattr", "+i", str(output)] if os.geteuid() == 0 else ["chmod", "555", str(output)]
    if subprocess.run(lock, capture_output=True).returncode != 0:
        pytest.skip(f"cannot make a read-only folder here ({' '.join(lock[:2])} failed)")
    try:
        env = {"OUTPUT": str(output), "DATA": str(tmp_path / "data"), "SEEDS": "1", "LAMM_NO_DOWNLOAD": "1"}
        code, printed = run_command(["bash", "scripts/lamm/main.sh", "caltech101", "2"], env=env, check=False)
    finally:
        subprocess.run(["chattr", "-i", str(output)] if os.geteuid() == 0 else ["chmod", "755", str(output)])
    assert code == 2 and "Traceback" not in printed, printed
    assert len(printed.strip().splitlines()) == 1 and printed.startswith(
        f"error: cannot write in {output} (permission denied)")
    assert not any(output.iterdir())


def test_script_rejects_non_positive_shots():
    code, output = run_command(["bash", "scripts/lamm/main.sh", "caltech101", "0"], check=False)
    assert code == 2 and "SHOTS must be a positive number" in output


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
    own = f"scripts/{m.script_dir}/{'main.sh' if m.few_shot else 'zeroshot.sh'}"
    script = [own] if m.script_dir else ["scripts/main.sh", trainer]  # a method without a script folder
    env = dict(os.environ, PYTHON=stub, DATA=caltech_root, OUTPUT=str(tmp_path / "out"), SEEDS="3", TAG=tag,
               LAMM_NO_DOWNLOAD="1")
    if trainer != "ZeroshotCLIP":
        env["DIR"] = str(tmp_path / "elsewhere")  # zeroshot.sh's folder override; no other script reads it
    command = ["bash", *script, "caltech101", *(["4"] if m.few_shot or not m.script_dir else []), *opts]
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

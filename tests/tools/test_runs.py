"""tools/runs.py names every run of every protocol and builds its train.py call; the sweep stops before
anything runs when a dataset is missing. Everything here is in-process and needs no data."""
import json
import os

import pytest

from datasets.prepare import ensure as prepare_data
from tools import sweep
from tools.runs import METHODS, VARIANTS, Grid, RunError, expand, read_record, script_argv, stages, tag_suffix
from tools.sweep_grid import FINISHED, UNFINISHED, run_status


def grid_runs(tmp_path, trainer="LAMM", datasets=("caltech101",), protocol="fewshot", **kw):
    kw.setdefault("seeds", (1,))
    return expand(Grid((trainer,), tuple(datasets), protocol=protocol, **kw), str(tmp_path), str(tmp_path / "data"))


def pairs(argv):
    """train.py's KEY VALUE overrides as a dict (the last value of a key wins, as in yacs)."""
    start = next(i for i, a in enumerate(argv) if a.startswith(("DATASET.", "RUN.")) and not a.startswith("--"))
    tail = argv[start:]
    return dict(zip(tail[::2], tail[1::2]))


def flag(argv, name):
    return argv[argv.index(name) + 1] if name in argv else None


# --------------------------------------------------------------------------- protocols
def test_base2new_trains_on_base_and_evaluates_base_and_new_in_their_own_folders(tmp_path):
    train, test_base, test_new = grid_runs(tmp_path, protocol="base2new")
    top = f"{tmp_path}/base2new/caltech101/LAMM/vit_b16_ep50_ctxv1_16shots"
    assert [r.run_dir for r in (train, test_base, test_new)] == [
        f"{top}/train_base/seed1", f"{top}/test_base/seed1", f"{top}/test_new/seed1"]
    a = train.argv()
    assert "--eval-only" not in a and pairs(a)["DATASET.SUBSAMPLE_CLASSES"] == "base"
    assert pairs(a)["DATASET.NUM_SHOTS"] == "16" and pairs(a)["RUN.PROTOCOL"] == "base2new"
    assert "RUN.EVAL_SET" not in pairs(a)
    for run, subsample in ((test_base, "base"), (test_new, "new")):
        a = run.argv()
        assert "--eval-only" in a and flag(a, "--model-dir") == train.run_dir != run.run_dir
        assert pairs(a)["DATASET.SUBSAMPLE_CLASSES"] == subsample and pairs(a)["RUN.EVAL_SET"] == subsample
        assert run.needs == (train.run_dir,)
    assert pairs(test_new.argv())["TRAINER.LAMM.UNSEEN_CLASSES"] == "init"  # new classes keep their words
    assert "TRAINER.LAMM.UNSEEN_CLASSES" not in pairs(test_base.argv())
    assert [[r.run_dir for r in wave] for wave in stages([test_new, train, test_base])] == [
        [train.run_dir], [test_new.run_dir, test_base.run_dir]]


def test_base2new_for_coop_and_zero_shot(tmp_path):
    coop = grid_runs(tmp_path, "CoOp", protocol="base2new")
    assert all("TRAINER.LAMM.UNSEEN_CLASSES" not in pairs(r.argv()) for r in coop)  # no label embeddings
    zero_shot = grid_runs(tmp_path, "ZeroshotCLIP", protocol="base2new", seeds=(1, 2))
    assert [r.name for r in zero_shot] == ["base2new/caltech101/ZeroshotCLIP/vit_b16/test_base/seed1",
                                           "base2new/caltech101/ZeroshotCLIP/vit_b16/test_new/seed1"]
    assert all("--eval-only" in r.argv() and "--model-dir" not in r.argv() for r in zero_shot)


def test_cross_dataset_evaluates_main_sh_s_imagenet_model_on_the_other_ten(tmp_path):
    runs = grid_runs(tmp_path, datasets=("all",), protocol="cross_dataset", seeds=(2,))
    source, targets = runs[0], runs[1:]
    (main_sh,) = grid_runs(tmp_path, datasets=("imagenet",), shots=(16,), seeds=(2,))
    assert source.run_dir == main_sh.run_dir and source.argv() == main_sh.argv()  # shared with main.sh and dg
    from datasets.catalog import FEWSHOT_BENCHMARKS

    assert [r.dataset for r in targets] == [d for d in FEWSHOT_BENCHMARKS if d != "imagenet"] and len(targets) == 10
    for run in targets:
        a = run.argv()
        assert run.run_dir == f"{tmp_path}/cross_dataset/LAMM/vit_b16_ep50_ctxv1_16shots/{run.dataset}/seed2"
        assert flag(a, "--model-dir") == source.run_dir and "--eval-only" in a
        assert flag(a, "--dataset-config-file") == f"configs/datasets/{run.dataset}.yaml"
        p = pairs(a)
        assert p["RUN.PROTOCOL"] == "cross_dataset" and p["RUN.SOURCE_DATASET"] == "imagenet"
        assert p["RUN.EVAL_SET"] == run.dataset and p["TRAINER.LAMM.UNSEEN_CLASSES"] == "init"


def test_dg_keeps_the_folders_of_dg_sh(tmp_path):
    runs = grid_runs(tmp_path, "CoOp", datasets=("imagenet_a", "imagenet_r"), protocol="dg")
    assert [r.name for r in runs] == ["imagenet/CoOp/vit_b16_ep50_ctxv1_16shots/seed1",
                                      "evaluation/CoOp/vit_b16_ep50_ctxv1_16shots/imagenet_a/seed1",
                                      "evaluation/CoOp/vit_b16_ep50_ctxv1_16shots/imagenet_r/seed1"]
    assert pairs(runs[1].argv())["RUN.PROTOCOL"] == "dg" and pairs(runs[1].argv())["RUN.SOURCE_DATASET"] == "imagenet"


def test_incremental_runs_two_stages_then_evaluates_each_set(tmp_path):
    runs = grid_runs(tmp_path, protocol="incremental", shots=(2,))
    top = "incremental/caltech101/LAMM/vit_b16_ep50_ctxv1_2shots"
    assert [r.name for r in runs] == [f"{top}/{f}/seed1" for f in
                                      ("stage1_set1", "stage1_set2", "stage2_train", "stage2_set1", "stage2_set2")]
    stage1, stage1_set2, stage2, stage2_set1, stage2_set2 = runs
    p = pairs(stage2.argv())
    assert p["MODEL.INIT_WEIGHTS"] == stage1.run_dir and p["DATASET.TRAIN_CLASSES"] == "new"
    assert p["TRAINER.LAMM.FREEZE_LOADED_LABELS"] == "True" and p["RUN.STAGE"] == "2"
    assert flag(stage1_set2.argv(), "--model-dir") == stage1.run_dir
    assert flag(stage2_set1.argv(), "--model-dir") == flag(stage2_set2.argv(), "--model-dir") == stage2.run_dir
    assert [pairs(r.argv()).get("RUN.EVAL_SET") for r in runs] == ["set1", "set2", None, "set1", "set2"]
    assert [len(w) for w in stages(runs)] == [1, 2, 2]
    coop = pairs(grid_runs(tmp_path, "CoOp", protocol="incremental")[2].argv())
    assert "TRAINER.LAMM.FREEZE_LOADED_LABELS" not in coop  # CoOp's shared context keeps training


# --------------------------------------------------------------------------- variants and names
def test_variants_name_their_folders_and_records(tmp_path):
    (wohl,) = grid_runs(tmp_path, shots=(4,), variants=("woHL",))
    assert wohl.name == "caltech101/LAMM/vit_b16_ep50_ctxv1_4shots_woHL/seed1"
    assert pairs(wohl.argv())["TRAINER.LAMM.HIERARCHICAL_LOSS"] == "False"
    assert pairs(wohl.argv())["RUN.VARIANT"] == "woHL"
    # A variant with the user's own overrides is another experiment, in its own folder.
    (mine,) = grid_runs(tmp_path, shots=(4,), variants=("woHL",), opts=("OPTIM.LR", "0.1"), tag="lr")
    assert mine.experiment == "vit_b16_ep50_ctxv1_4shots_woHL_lr" and pairs(mine.argv())["OPTIM.LR"] == "0.1"
    (official,) = grid_runs(tmp_path, shots=(4,), official=True)
    assert official.experiment == "vit_b16_ep50_ctxv1_4shots_official"
    assert pairs(official.argv())["TRAINER.LAMM.PRESET"] == "official"
    backbones = grid_runs(tmp_path, shots=(16,), variants=("backbones",))
    assert [r.experiment.replace("vit_b16_ep50_ctxv1_16shots", "") for r in backbones] == [
        "_rn50", "_rn101", "_vit_b32", ""]
    assert pairs(backbones[2].argv())["MODEL.BACKBONE.NAME"] == "ViT-B/32"
    assert [r.variant for r in grid_runs(tmp_path, shots=(16,), variants=("loss",))] == list(
        ("ce_wc", "ce_cos", "ce_kd", "ce_wc_cos", "ce_wc_kd", "ce_cos_kd"))
    assert set(VARIANTS) >= {"woHL", "random_init", "official"}
    with pytest.raises(RunError, match="unknown variant 'wohl'"):
        grid_runs(tmp_path, variants=("wohl",))


def test_no_tag_and_no_overrides_is_the_default_folder(tmp_path):
    (run,) = grid_runs(tmp_path, shots=(4,), tag="ignored")  # TAG names overrides; alone it names nothing
    assert run.experiment == "vit_b16_ep50_ctxv1_4shots" and "RUN.VARIANT" not in pairs(run.argv())


def test_a_folder_name_too_long_for_the_file_system_says_to_set_tag(tmp_path):
    opts = tuple(x for i in range(40) for x in (f"TRAINER.LAMM.KEY{i}", "1.0"))
    with pytest.raises(RunError, match=r"more than a file system allows \(255\); name these overrides with TAG="):
        grid_runs(tmp_path, opts=opts, shots=(4,))
    (run,) = grid_runs(tmp_path, opts=opts, shots=(4,), tag="many")
    assert run.experiment.endswith("_many")


def test_every_method_has_its_configs_and_script_folder():
    from tools.runs import REPO_ROOT

    for m in METHODS.values():
        assert (REPO_ROOT / "scripts" / m.script_dir).is_dir()
        assert m.config_file(16 if m.few_shot else None).is_file()


# --------------------------------------------------------------------------- command lines
def test_sweep_opts_do_not_swallow_the_flags_after_them():
    args = sweep.parse_args(["--methods", "LAMM", "--opts", "OPTIM.LR", "-0.5", "X", "--y", "--root", "/d",
                             "--dry-run"])
    assert args.opts == ["OPTIM.LR", "-0.5", "X", "--y"] and args.root == "/d" and args.dry_run
    assert sweep.parse_args(["--methods", "LAMM"]).opts is None


def test_script_arguments_and_environment_become_one_sweep_call():
    argv = script_argv(["main", "LAMM", "--dry-run", "caltech101", "4", "OPTIM.LR", "0.1"],
                       {"SEEDS": "1 2", "TAG": "t", "DATA": "/d", "OFFICIAL": "1", "DIR": "/x"})
    args = sweep.parse_args(argv)
    assert args.methods == ["LAMM"] and args.datasets == ["caltech101"] and args.shots == ["4"]
    assert args.seeds == ["1", "2"] and args.tag == "t" and args.root == "/d" and args.official
    assert args.opts == ["OPTIM.LR", "0.1"] and args.foreground and args.dry_run and args.run_dir is None
    zero_shot = sweep.parse_args(script_argv(["zeroshot", "dtd"], {"DIR": "/x"}))
    assert zero_shot.run_dir == "/x" and zero_shot.methods == ["ZeroshotCLIP"]
    dg = sweep.parse_args(script_argv(["dg", "CoOp"], {"TARGETS": "imagenet_a", "DATASETS": "dtd"}))
    assert dg.protocol == "dg" and dg.datasets == ["imagenet_a"]


@pytest.mark.parametrize("argv,env,message", [
    (["main", "LAMM", "caltech101", "4"], {"SEEDS": "0"}, "SEEDS must be seed numbers of 1 or more"),
    (["main", "LAMM", "caltech101", "4"], {"SEEDS": "1 -2"}, "SEEDS must be seed numbers of 1 or more"),
    (["main", "LAMM", "caltech101", "0"], {}, "SHOTS must be a positive number"),
    (["main", "LAMM", "caltech101"], {}, "missing SHOTS"),
    (["base2new", "LAMM", "dtd", "OPTIM.LR"], {}, "come in KEY VALUE pairs"),
])
def test_bad_script_arguments_are_one_error(argv, env, message):
    with pytest.raises(RunError, match=message):
        script_argv(argv, env)


# --------------------------------------------------------------------------- finished or not
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


# --------------------------------------------------------------------------- datasets prepared first
@pytest.fixture
def fake_prepare(monkeypatch):
    """datasets.prepare and datasets.check replaced: nothing is fetched; records what was prepared."""
    state = {"present": set(), "prepared": []}
    monkeypatch.setattr(prepare_data, "_check", lambda info, root: None if info.key in state["present"] else
                        f"{info.name} is not ready under {root}: its folder is missing. Get it with "
                        f"`python -m datasets.prepare {info.key} --root {root}`.")

    def prepare(key, root):
        state["prepared"].append(key)
        state["present"].add(key)
        return 0

    monkeypatch.setattr(prepare_data, "_prepare", prepare)
    monkeypatch.setattr(prepare_data, "_manual_steps", lambda info, root: "    1. register and download by hand")
    monkeypatch.delenv(prepare_data.NO_DOWNLOAD_ENV, raising=False)
    return state


@pytest.mark.parametrize("how", [["--no-download"], []])
def test_the_sweep_stops_before_any_run_folder_when_data_is_missing(how, fake_prepare, tmp_path, capsys, monkeypatch):
    out = tmp_path / "out"
    datasets = ["dtd"] if how else ["imagenet"]  # refused download; manual steps
    code = sweep.main(["--methods", "LAMM", "--datasets", *datasets, "--shots", "1", "--seeds", "1", "--output",
                       str(out), "--root", str(tmp_path / "data"), "--foreground", *how])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("error: ") and len(err.strip().splitlines()) == 1
    assert not out.exists() and fake_prepare["prepared"] == []
    monkeypatch.setenv(prepare_data.NO_DOWNLOAD_ENV, "1")
    assert prepare_data.no_download_from_env()


def test_tag_suffix_is_the_scripts_rule():
    assert tag_suffix(["TRAINER.LAMM.LAMBDA_WC", "1.0"]) == "TRAINER.LAMM.LAMBDA_WC-1.0"
    assert os.path.basename(tag_suffix(["A", "x/y"])) == "A-x-y"


def test_foreground_is_not_combined_with_a_pool_or_submitit():
    with pytest.raises(RunError, match="--foreground runs one run at a time"):
        sweep.check_executor_flags(sweep.parse_args(["--methods", "LAMM", "--foreground", "--workers", "2"]))

"""tools/runs/protocols.py: what each protocol runs for a method, its folders and its train.py calls."""
import pytest

from tests.tools.runs.grids import flag, grid_runs, pairs
from tools.runs.grid import stages
from tools.runs.run import RunError


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


@pytest.mark.parametrize("protocol", ["cross_dataset", "dg"])
def test_the_source_dataset_is_no_target_of_its_own_model(protocol, tmp_path):
    """TARGETS=imagenet would evaluate the ImageNet run on ImageNet and file it as a transfer result."""
    with pytest.raises(RunError, match=f"imagenet is where {protocol} trains .* leave it out of TARGETS"):
        grid_runs(tmp_path, datasets=("dtd", "imagenet"), protocol=protocol)


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

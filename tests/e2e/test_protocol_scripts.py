"""The paper's two-stage protocols end to end on the tiny CLIP: class-incremental and ImageNet -> A/R/V2/Sketch."""
import json
from pathlib import Path

import pytest
import torch
from dassl.engine import build_trainer

import train
from tests.fixtures import run_command, tiny_opts, train_args
from tools.synthetic import data as synthetic_data

pytestmark = pytest.mark.slow  # a real entry point in a new process: run with -m slow or -m "not gpu"


def result(run):
    return json.loads((Path(run) / "results.json").read_text())


@pytest.fixture(scope="module")
def incremental_output(caltech_root, tiny_clip_file, tmp_path_factory):
    output = tmp_path_factory.mktemp("incremental")
    env = {"DATA": caltech_root, "OUTPUT": str(output), "SEEDS": "1", "SHOTS": "2", "TAG": "tiny"}
    for trainer in ("LAMM", "CoOp", "ZeroshotCLIP"):
        run_command(["bash", "scripts/incremental.sh", trainer, "caltech101", *tiny_opts(tiny_clip_file)], env=env)
    return output / "incremental" / "caltech101"


def test_lamm_keeps_set_1_exactly_through_stage_2(incremental_output):
    base = incremental_output / "LAMM" / "vit_b16_ep50_ctxv1_2shots_tiny"
    for stage_set in ("stage1_set1", "stage1_set2", "stage2_train", "stage2_set1", "stage2_set2"):
        assert (base / stage_set / "seed1" / "results.json").is_file(), stage_set
    assert result(base / "stage1_set1" / "seed1")["subsample_classes"] == "base"
    assert result(base / "stage2_set1" / "seed1")["accuracy"] == result(base / "stage1_set1" / "seed1")["accuracy"]
    log = (base / "stage2_train" / "seed1" / "log.txt").read_text()
    assert "Label embeddings of 2 classes taken from" in log and "(frozen)" in log
    assert "TRAIN ON NEW CLASSES ONLY (2 of 4), LABEL SPACE: ALL" in log

    stage1 = torch.load(base / "stage1_set1/seed1/prompt_learner/model.pth.tar-2", weights_only=True)["state_dict"]
    stage2 = torch.load(base / "stage2_train/seed1/prompt_learner/model.pth.tar-2", weights_only=True)["state_dict"]
    # Set 1's label vectors are carried over bit for bit (frozen); Set 2's are new and trained.
    frozen = stage2["label_embeddings.frozen_vectors"]
    assert frozen.shape == stage1["label_embeddings.vectors"].shape
    torch.testing.assert_close(frozen, stage1["label_embeddings.vectors"], rtol=0, atol=0)
    assert set(stage2["label_embeddings.class_index"].tolist()) == {2, 3}


def test_coop_and_zero_shot_run_the_same_protocol(incremental_output):
    coop = incremental_output / "CoOp" / "vit_b16_ep50_ctxv1_2shots_tiny"
    for stage_set in ("stage1_set1", "stage2_set1", "stage2_set2"):
        assert 0 <= result(coop / stage_set / "seed1")["accuracy"] <= 100
    log = (coop / "stage2_train" / "seed1" / "log.txt").read_text()
    assert "Initialised ['ctx'] from" in log  # the shared context keeps training from stage 1
    zero_shot = incremental_output / "ZeroshotCLIP" / "vit_b16_tiny"
    assert result(zero_shot / "stage1_set1" / "seed1")["subsample_classes"] == "base"
    assert result(zero_shot / "stage1_set2" / "seed1")["subsample_classes"] == "new"


def test_incremental_options_are_checked(caltech_root, tiny_clip_file, tmp_path):
    from lamm.errors import ConfigError

    opts = tiny_opts(tiny_clip_file, "DATASET.SUBSAMPLE_CLASSES", "base", "DATASET.TRAIN_CLASSES", "new")
    with pytest.raises(ConfigError, match="use it with DATASET.SUBSAMPLE_CLASSES all"):
        build_trainer(train.setup_cfg(train_args(caltech_root, tmp_path / "x", opts=opts)))


@pytest.fixture(scope="module")
def imagenet_root(tmp_path_factory):
    root = str(tmp_path_factory.mktemp("imagenet_data"))
    classes = len(synthetic_data.IMAGENET_CLASSES)
    synthetic_data.make_imagenet(root, num_classes=classes, train_per_class=16, val_per_class=2)
    synthetic_data.make_imagenetv2(root, num_classes=classes, test_per_class=2)
    synthetic_data.make_imagenet_sketch(root, num_classes=classes, test_per_class=2)
    synthetic_data.make_imagenet_a(root, test_per_class=2)
    synthetic_data.make_imagenet_r(root, test_per_class=2)
    return root


def test_domain_generalisation_evaluates_the_imagenet_model_on_every_target(imagenet_root, tiny_clip_file, tmp_path):
    env = {"DATA": imagenet_root, "OUTPUT": str(tmp_path), "SEEDS": "1", "TAG": "tiny"}
    run_command(["bash", "scripts/dg.sh", "LAMM", *tiny_opts(tiny_clip_file, "OPTIM.MAX_EPOCH", "1")], env=env)
    source = tmp_path / "imagenet" / "LAMM" / "vit_b16_ep50_ctxv1_16shots_tiny" / "seed1"
    assert result(source)["dataset"] == "ImageNet"
    targets = tmp_path / "evaluation" / "LAMM" / "vit_b16_ep50_ctxv1_16shots_tiny"
    names = {"imagenetv2": "ImageNetV2", "imagenet_sketch": "ImageNetSketch", "imagenet_a": "ImageNetA",
             "imagenet_r": "ImageNetR"}
    for folder, name in names.items():
        evaluated = result(targets / folder / "seed1")
        assert evaluated["dataset"] == name and evaluated["eval_only"] is True


def test_an_imagenet_model_scores_imagenet_a_with_its_own_labels(imagenet_root, tiny_clip_file, tmp_path):
    """On ImageNet-A's classes, the loaded model's prompts are the ImageNet model's prompts."""
    opts = tiny_opts(tiny_clip_file, "OPTIM.MAX_EPOCH", "1")
    config = "configs/trainers/LAMM/vit_b16_ep50_ctxv1_16shots.yaml"
    imagenet = build_trainer(train.setup_cfg(train_args(imagenet_root, tmp_path / "src", config=config,
                                                        dataset_config="configs/datasets/imagenet.yaml", opts=opts)))
    with torch.no_grad():
        vectors = imagenet.model.prompt_learner.label_embeddings.vectors
        vectors.add_(torch.randn_like(vectors))
    imagenet.save_model(0, str(tmp_path / "src"))
    target = build_trainer(train.setup_cfg(train_args(imagenet_root, tmp_path / "a", config=config,
                                                      dataset_config="configs/datasets/imagenet_a.yaml", opts=opts)))
    target.load_model(str(tmp_path / "src"))
    indices = target.dm.dataset.class_ids
    assert list(indices) == synthetic_data.IMAGENET_A_INDICES
    with torch.no_grad():
        torch.testing.assert_close(target.model.prompt_learner()[0], imagenet.model.prompt_learner()[0][indices])


def test_base2new_script_lamm_scores_new_classes_as_zero_shot_clip(caltech_root, tiny_clip_file, tmp_path):
    """Train on the base half, evaluate base and new in their own folders; LAMM's new classes keep
    their word embeddings, so on them it is zero-shot CLIP with the same template (paper)."""
    env = {"DATA": caltech_root, "OUTPUT": str(tmp_path), "SEEDS": "1", "SHOTS": "2", "TAG": "tiny"}
    for trainer in ("LAMM", "ZeroshotCLIP"):
        run_command(["bash", "scripts/base2new.sh", trainer, "caltech101", *tiny_opts(tiny_clip_file)], env=env)
    lamm = tmp_path / "base2new" / "caltech101" / "LAMM" / "vit_b16_ep50_ctxv1_2shots_tiny"
    zero_shot = tmp_path / "base2new" / "caltech101" / "ZeroshotCLIP" / "vit_b16_tiny"
    trained, base, new = (result(lamm / f / "seed1") for f in ("train_base", "test_base", "test_new"))
    assert trained["subsample_classes"] == base["subsample_classes"] == "base" and not trained["eval_only"]
    assert base["eval_only"] and new["eval_only"] and new["subsample_classes"] == "new"
    assert base["accuracy"] == trained["accuracy"]  # the same model on the same classes
    assert new["accuracy"] == result(zero_shot / "test_new" / "seed1")["accuracy"]
    assert "PROTOCOL: base2new" in (lamm / "test_new" / "seed1" / "config.yaml").read_text()
    _, log = run_command(["bash", "scripts/base2new.sh", "LAMM", "caltech101", *tiny_opts(tiny_clip_file)], env=env)
    assert log.count("Results are available") == 3


@pytest.mark.parametrize("trainer", ["LAMM", "CoOpLAMM"])
def test_cross_dataset_script_evaluates_the_imagenet_model_on_other_datasets(trainer, imagenet_root, tiny_clip_file,
                                                                              tmp_path):
    if not Path(imagenet_root, "caltech-101").exists():  # 16 train images: eval runs keep the 16-shot config
        synthetic_data.make_caltech101(imagenet_root, num_classes=4, train_per_class=16, val_per_class=4,
                                       test_per_class=4)
    env = {"DATA": imagenet_root, "OUTPUT": str(tmp_path), "SEEDS": "1", "TAG": "tiny", "TARGETS": "caltech101"}
    run_command(["bash", "scripts/cross_dataset.sh", trainer, *tiny_opts(tiny_clip_file, "OPTIM.MAX_EPOCH", "1")],
                env=env)
    source = result(tmp_path / "imagenet" / trainer / "vit_b16_ep50_ctxv1_16shots_tiny" / "seed1")
    target_dir = tmp_path / "cross_dataset" / trainer / "vit_b16_ep50_ctxv1_16shots_tiny" / "caltech101" / "seed1"
    target = result(target_dir)
    assert source["dataset"] == "ImageNet" and not source["eval_only"]
    assert target["dataset"] == "Caltech101" and target["eval_only"] and 0 <= target["accuracy"] <= 100
    config = (target_dir / "config.yaml").read_text()
    assert "PROTOCOL: cross_dataset" in config and "SOURCE_DATASET: imagenet" in config

"""trainers/clip_trainer.py: what a run cost, as its record states it (time, memory, parameters, speed);
every trainer trains and tests end to end on tiny random open_clip models of each layout, and the same
weights loaded through ``clip`` and through open_clip give the same run."""
import ast
import os
import re

import pytest
import torch

from trainers.record import COST_FIELDS, read_record
from tests.fixtures import MAPLE_TINY, TINY_OVERRIDES, run_train, tiny_opts, trainer_config
from tests.open_clip_models import LAYOUTS, open_clip_models, open_clip_opts  # noqa: F401 (fixture)

DATASET = "configs/datasets/caltech101.yaml"


def train(root, output, trainer, opts, check=True):
    extra = ["--eval-only"] if trainer == "ZeroshotCLIP" else []
    return run_train("--root", root, "--seed", "1", "--trainer", trainer, "--dataset-config-file", DATASET,
                     "--config-file", trainer_config(trainer), "--output-dir", str(output), *extra, *opts, check=check)


def layout_opts(models, layout, *extra):
    return [*open_clip_opts(models, layout), *TINY_OVERRIDES, *extra]


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("trainer", ["ZeroshotCLIP", "CoOp", "LAMM", "CoOpLAMM"])
def test_every_trainer_trains_and_tests_on_each_open_clip_layout(trainer, layout, open_clip_models, caltech_root,
                                                                 tmp_path):
    code, output = train(caltech_root, tmp_path / "run", trainer, layout_opts(open_clip_models, layout))
    record = read_record(str(tmp_path / "run"))
    assert 0.0 <= record["accuracy"] <= 100.0 and record["num_test"] > 0
    config, weights = open_clip_models[layout]
    assert record["backbone"] == f"open_clip:{config}" and record["backbone_weights"] == os.path.basename(weights)
    bidirectional = layout == "siglip"
    if trainer != "ZeroshotCLIP":
        assert record["epoch"] == 2
        # The shortcuts that are not exact on a bidirectional tower are off, and the record says so.
        assert record["shortcuts_off"] == (["TRUNCATE_PROMPTS", "SHARE_PROMPT_PREFIX"] if bidirectional else [])
        assert ("Shortcuts off, not exact" in output) == bidirectional


@pytest.mark.parametrize("trainer", ["MaPLe", "MaPLeLAMM"])
def test_maple_runs_on_open_clips_own_vit_in_openai_layout(trainer, open_clip_models, caltech_root, tmp_path):
    train(caltech_root, tmp_path / "run", trainer, layout_opts(open_clip_models, "openai", *MAPLE_TINY))
    assert read_record(str(tmp_path / "run"))["epoch"] == 2


@pytest.mark.parametrize("layout", ["siglip", "eva"])
def test_maple_on_a_timm_vision_tower_is_one_clear_error(layout, open_clip_models, caltech_root, tmp_path):
    code, output = train(caltech_root, tmp_path / "run", "MaPLeLAMM",
                         layout_opts(open_clip_models, layout, *MAPLE_TINY), check=False)
    assert code == 2 and "error: MaPLe prompts open_clip's own ViT in OpenAI's layout" in output, output[-2000:]
    assert "Traceback" not in output


def test_open_clip_without_weights_is_an_error_never_random(open_clip_models, caltech_root, tmp_path):
    config, _ = open_clip_models["siglip"]
    code, output = train(caltech_root, tmp_path / "run", "LAMM",
                         ["MODEL.BACKBONE.NAME", f"open_clip:{config}", *TINY_OVERRIDES], check=False)
    assert code == 2 and "needs MODEL.BACKBONE.WEIGHTS" in output and "Traceback" not in output


def test_weights_given_to_an_openai_clip_are_an_error(tiny_clip_file, caltech_root, tmp_path):
    code, output = train(caltech_root, tmp_path / "run", "LAMM",
                         tiny_opts(tiny_clip_file, "MODEL.BACKBONE.WEIGHTS", "webli"), check=False)
    assert code == 2 and "is for open_clip models" in output and "Traceback" not in output


def _label_embeddings(run):
    folder = run / "prompt_learner"
    [checkpoint] = [name for name in os.listdir(folder) if name.startswith("model")]
    state = torch.load(folder / checkpoint, map_location="cpu", weights_only=False)["state_dict"]
    return state["label_embeddings.vectors"], state["ctx"]


@pytest.mark.parametrize("trainer", ["LAMM", "CoOpLAMM"])
def test_same_weights_through_clip_and_open_clip_give_the_same_run(trainer, open_clip_models, caltech_root, tmp_path):
    config, weights = open_clip_models["openai"]  # the tiny CLIP's fp16 weights
    train(caltech_root, tmp_path / "clip", trainer, tiny_opts(weights))
    train(caltech_root, tmp_path / "open_clip", trainer, layout_opts(open_clip_models, "openai"))
    through_clip, through_open_clip = read_record(str(tmp_path / "clip")), read_record(str(tmp_path / "open_clip"))
    assert through_clip["accuracy"] == through_open_clip["accuracy"]
    labels, context = _label_embeddings(tmp_path / "clip")
    other_labels, other_context = _label_embeddings(tmp_path / "open_clip")
    assert torch.equal(labels, other_labels) and torch.equal(context, other_context)
    start = torch.load(tmp_path / "clip" / "prompt_learner" / os.listdir(tmp_path / "clip" / "prompt_learner")[0],
                       map_location="cpu", weights_only=False)["state_dict"]["label_embeddings.anchor"]
    assert not torch.equal(labels, start)  # the labels trained: the equality is not that of untouched tensors


def updated_parameters(run) -> int:
    """The parameters the log says are updated, counted in the run's last checkpoint."""
    line = next(l for l in (run / "log.txt").read_text().splitlines() if l.startswith("Parameters to be updated:"))
    names = ast.literal_eval(line.split(":", 1)[1].strip())
    (checkpoint,) = sorted((run / "prompt_learner").glob("model.pth.tar-*"))[-1:]
    state = torch.load(checkpoint, map_location="cpu", weights_only=False)["state_dict"]
    return sum(state[re.sub(r"^prompt_learner\.", "", name)].numel() for name in names)


def test_the_record_says_what_the_run_cost(lamm_run):
    record = read_record(str(lamm_run))
    cost = record["cost"]
    assert set(cost) == set(COST_FIELDS)
    assert cost["wall_s"] >= record["time_s"]["train"] + record["time_s"]["test"]  # loading counts too
    assert cost["host_peak_gb"] >= record["peak_memory_gb"]["test"] > 0.01 and cost["gpu_peak_gb"] is None
    assert cost["trainable_params"] == updated_parameters(lamm_run) > 0
    images = record["epoch"] * 16  # 2 epochs of 4 classes x 4 shots
    assert cost["train_images_per_s"] * record["time_s"]["train"] == pytest.approx(images, rel=0.05)

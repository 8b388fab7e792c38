"""tools/runs/variants.py: named variants name their folders and records; tag_suffix is the scripts' rule."""
import os

import pytest

from tests.tools.runs.grids import grid_runs, pairs
from tools.runs.run import RunError
from tools.runs.variants import VARIANTS, tag_suffix


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


def test_tag_suffix_is_the_scripts_rule():
    assert tag_suffix(["TRAINER.LAMM.LAMBDA_WC", "1.0"]) == "TRAINER.LAMM.LAMBDA_WC-1.0"
    assert os.path.basename(tag_suffix(["A", "x/y"])) == "A-x-y"


def test_tag_suffix_squeezes_like_tr():
    assert tag_suffix(["A.B", "(32, 32)"]) == "A.B-32-32-"
    assert tag_suffix(["K", "é--x"]) == "K-x"
    assert tag_suffix(["K", "v"], tag="t") == "t"

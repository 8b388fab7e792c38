"""benchmarks/step_time.py takes any backbone: an open_clip model loaded from its weights, or a
random model of an open_clip architecture's real shape."""
import pytest

from benchmarks.step_time import make_backbone, run_case
from tests.open_clip_models import open_clip_models  # noqa: F401 (fixture)


@pytest.mark.parametrize("layout, method", [("siglip", "LAMM"), ("openai", "MaPLeLAMM"), ("openai", "CoCoOp")])
def test_a_case_runs_on_an_open_clip_backbone(layout, method, open_clip_models):
    config, weights = open_clip_models[layout]
    result = run_case(method, 3, True, "cpu", "fp32", 1, 2, 1, backbone=f"open_clip:{config}", weights=weights)
    assert result["step"] > 0 and result["image_forward"] > 0 and result["peak"] > 0


def test_without_weights_an_open_clip_name_is_a_random_model_of_its_real_shape(tmp_path):
    backbone = make_backbone("open_clip:ViT-B-16-SigLIP", "", "fp32")
    assert backbone.token_embedding.weight.shape == (32000, 768) and backbone.context_length == 64
    assert not backbone.causal and backbone.pooling == "last" and backbone.preprocess["size"] == (224, 224)
    assert not any(p.requires_grad for p in backbone.model.parameters())

"""Tiny random open_clip models of each layout (tools/synthetic/tiny_open_clip.py), written once per session,
and the tiny CLIP's weights in fp16 (as OpenAI releases them), loadable through both libraries."""
import pytest
import torch

from tools.synthetic.tiny_clip import build_tiny_clip
from tools.synthetic.tiny_open_clip import write_model

LAYOUTS = ("openai", "siglip", "eva")


@pytest.fixture(scope="session")
def open_clip_models(tmp_path_factory):
    """{layout: (config JSON path, weights file path)}; "openai" holds the fp16 tiny CLIP's weights,
    so that ``clip`` and open_clip load the same numbers (``clip`` rounds every weight to fp16)."""
    root = tmp_path_factory.mktemp("open_clip")
    models = {layout: write_model(root / layout, layout) for layout in LAYOUTS}
    same = root / "openai" / "tiny_clip_fp16.pt"
    torch.save(build_tiny_clip().half().state_dict(), same)
    models["openai"] = (models["openai"][0], str(same))
    return models


def open_clip_opts(models, layout):
    config, weights = models[layout]
    return ["MODEL.BACKBONE.NAME", f"open_clip:{config}", "MODEL.BACKBONE.WEIGHTS", weights]

"""The documented open_clip command through the real script, in its local-file form: the model
name resolved offline from the cache, the weights a file (docs/BACKBONES.md)."""
import json
from pathlib import Path

import pytest

from tests.fixtures import TINY_OVERRIDES, run_command
from tools.synthetic.tiny_open_clip import build_model, build_tokenizer, save_config, save_weights, siglip_like_config

pytestmark = pytest.mark.slow  # a real entry point in a new process: run with -m slow or -m "not gpu"


def test_main_sh_runs_a_siglip_like_model_offline_from_its_cache_and_a_weights_file(caltech_root, tmp_path):
    # A Hub-style cache holding the model's tokenizer, as `huggingface-cli download --cache-dir` leaves it.
    repo = tmp_path / "cache" / "models--someone--tiny-siglip"
    snapshot = repo / "snapshots" / ("0" * 40)
    build_tokenizer(snapshot)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text("0" * 40)
    config = siglip_like_config(snapshot)
    config["text_cfg"]["hf_tokenizer_name"] = "someone/tiny-siglip"  # a Hub id, not a folder
    preprocess = {"mean": [0.5, 0.5, 0.5], "std": [0.5, 0.5, 0.5], "resize_mode": "squash"}  # SigLIP's
    config_path = save_config({"model_cfg": config, "preprocess_cfg": preprocess}, tmp_path / "tiny-siglip.json")
    weights = save_weights(build_model(config), tmp_path / "tiny-siglip.safetensors")
    output = tmp_path / "output"
    env = {"DATA": caltech_root, "OUTPUT": str(output), "TAG": "siglip", "SEEDS": "1",
           "OPEN_CLIP_CACHE_DIR": str(tmp_path / "cache"), "LAMM_OFFLINE": "1"}
    _, log = run_command(["bash", "scripts/lamm/main.sh", "caltech101", "4", "MODEL.BACKBONE.NAME",
                          f"open_clip:{config_path}", "MODEL.BACKBONE.WEIGHTS", weights, *TINY_OVERRIDES], env=env)
    [record_path] = Path(output).glob("caltech101/LAMM/*/seed1/results.json")
    record = json.loads(record_path.read_text())
    assert record["backbone_weights"] == "tiny-siglip.safetensors" and record["epoch"] == 2
    assert record["shortcuts_off"] == ["TRUNCATE_PROMPTS", "SHARE_PROMPT_PREFIX"]
    saved = (record_path.parent / "config.yaml").read_text()
    assert "- 0.5" in saved.split("PIXEL_MEAN:")[1].split("PIXEL_STD:")[0]  # the model's mean, not OpenAI's

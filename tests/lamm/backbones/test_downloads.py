"""lamm/backbones/downloads.py: open_clip weights with the CLIP download's promises: a cache folder
of their own, a timeout, one line naming what to fetch and where, an offline mode that never
touches the network."""
import shutil
import socket
import time

import pytest

from lamm.backbones import load_backbone
from lamm.errors import BackboneError
from tests.open_clip_models import open_clip_models  # noqa: F401 (fixture)


@pytest.fixture
def no_network(monkeypatch):
    """Every connection attempt is recorded and refused."""
    attempts = []

    def refuse(self, address, *args):
        attempts.append(address)
        raise OSError("network disabled in this test")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    return attempts


def test_offline_mode_never_touches_the_network_and_says_what_to_fetch(monkeypatch, tmp_path, no_network):
    monkeypatch.setenv("LAMM_OFFLINE", "1")
    monkeypatch.setenv("OPEN_CLIP_CACHE_DIR", str(tmp_path / "cache"))
    with pytest.raises(BackboneError) as error:
        load_backbone("open_clip:ViT-B-16-SigLIP2", "webli")
    message = str(error.value)
    assert "offline mode" in message and "\n" not in message
    fetch = "huggingface-cli download timm/ViT-B-16-SigLIP2 open_clip_model.safetensors"
    assert f"{fetch} --cache-dir {tmp_path / 'cache'}" in message and "MODEL.BACKBONE.WEIGHTS /path/to/open_clip_model.safetensors" in message
    assert no_network == []


def _hub_cache(cache, repo, filename, source):
    """A file in the Hugging Face cache layout, as a download on another machine leaves it."""
    folder = cache / f"models--{repo.replace('/', '--')}"
    (folder / "refs").mkdir(parents=True)
    (folder / "refs" / "main").write_text("0" * 40)
    snapshot = folder / "snapshots" / ("0" * 40)
    snapshot.mkdir(parents=True)
    shutil.copy(source, snapshot / filename)


def test_a_cached_hub_download_is_used_offline(monkeypatch, tmp_path, open_clip_models, no_network):
    config, weights = open_clip_models["siglip"]
    _hub_cache(tmp_path / "cache", "someone/tiny-siglip", "open_clip_model.safetensors", weights)
    monkeypatch.setenv("LAMM_OFFLINE", "1")
    monkeypatch.setenv("OPEN_CLIP_CACHE_DIR", str(tmp_path / "cache"))
    backbone = load_backbone(f"open_clip:{config}", "hf-hub:someone/tiny-siglip")
    assert backbone.weights == "hf-hub:someone/tiny-siglip" and backbone.pooling == "last"
    assert no_network == []


def test_a_server_that_never_answers_is_given_up_after_the_timeout(monkeypatch, tmp_path, open_clip_models,
                                                                    silent_proxy):
    url, held = silent_proxy
    config, _ = open_clip_models["siglip"]
    monkeypatch.setenv("HF_ENDPOINT", url)
    monkeypatch.setenv("LAMM_DOWNLOAD_TIMEOUT", "0.5")
    monkeypatch.setenv("OPEN_CLIP_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("LAMM_OFFLINE", raising=False)
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    started = time.monotonic()
    with pytest.raises(BackboneError, match=r"someone/silent/open_clip_model.safetensors from the Hugging Face "
                                            r"Hub \(http://127.0.0.1:\d+: no answer within 0.5 s\)"):
        load_backbone(f"open_clip:{config}", "hf-hub:someone/silent")
    assert time.monotonic() - started < 30 and held  # it did connect, and gave up on its own

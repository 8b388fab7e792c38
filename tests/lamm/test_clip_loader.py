"""lamm/clip_loader.py: CLIP loaded from a file or by name, downloaded with timeout, retry, progress and a
sha256 check; clear errors. Only local servers on 127.0.0.1, no real network."""
import hashlib
import http.server
import os
import socket
import threading
import time

import pytest
import torch

from lamm import clip_loader
from lamm.backbones import check_input_size
from lamm.clip_loader import BackboneError, download_checkpoint, ensure_backbone, load_clip
from lamm.errors import ConfigError, LammError
from tests.helpers import tiny_clip
from tools.synthetic.tiny_clip import save_tiny_clip

PAYLOAD = os.urandom(300_000)
SHA = hashlib.sha256(PAYLOAD).hexdigest()


@pytest.fixture(autouse=True)
def no_retry_wait(monkeypatch):
    monkeypatch.setattr(clip_loader, "RETRY_WAIT_S", 0.0)  # the retry itself is what these tests check


class _Server:
    """An HTTP server on 127.0.0.1 that answers each GET from a list of behaviours, in turn."""

    def __init__(self, behaviours):
        self.behaviours = list(behaviours)
        self.requests = 0
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                kind = server.behaviours[min(server.requests, len(server.behaviours) - 1)]
                server.requests += 1
                if kind == "error":
                    self.send_error(503)
                    return
                body = PAYLOAD if kind == "ok" else PAYLOAD[::-1]  # "wrong": same size, other bytes
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def url(self, sha=SHA, name="ViT-B-16.pt"):
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/clip/models/{sha}/{name}"

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()


def test_download_shows_progress_checks_the_sha256_and_is_cached(tmp_path, capsys):
    with _Server(["ok"]) as server:
        path = download_checkpoint(server.url(), str(tmp_path), timeout=5)
        assert path == str(tmp_path / "ViT-B-16.pt")
        with open(path, "rb") as f:
            assert f.read() == PAYLOAD
        err = capsys.readouterr().err
        assert "Downloading ViT-B-16.pt from http://127.0.0.1" in err and "100%" in err  # the progress bar
        assert download_checkpoint(server.url(), str(tmp_path), timeout=5) == path
        assert server.requests == 1  # the second call used the cache
    assert sorted(os.listdir(tmp_path)) == [".download.lock", "ViT-B-16.pt"]  # no partial file left


def test_a_failed_attempt_is_retried(tmp_path, capsys):
    with _Server(["error", "ok"]) as server:
        path = download_checkpoint(server.url(), str(tmp_path), timeout=5)
        assert server.requests == 2
    assert "retrying" in capsys.readouterr().err
    with open(path, "rb") as f:
        assert hashlib.sha256(f.read()).hexdigest() == SHA


def test_a_sha256_mismatch_is_an_error_that_keeps_no_file(tmp_path):
    with _Server(["wrong"]) as server, pytest.raises(BackboneError) as raised:
        download_checkpoint(server.url(), str(tmp_path), timeout=5, retries=1)
    message = str(raised.value)
    assert "sha256" in message and "\n" not in message
    assert server.requests == 2  # retried once
    assert not (tmp_path / "ViT-B-16.pt").exists()
    assert [f for f in os.listdir(tmp_path) if f != ".download.lock"] == []


def test_a_corrupt_cached_file_is_downloaded_again(tmp_path, capsys):
    (tmp_path / "ViT-B-16.pt").write_bytes(b"")  # an interrupted earlier download
    with _Server(["ok"]) as server:
        path = download_checkpoint(server.url(), str(tmp_path), timeout=5)
    assert "does not match its sha256" in capsys.readouterr().err
    assert os.path.getsize(path) == len(PAYLOAD)


def test_a_server_that_never_answers_fails_with_the_clear_error_in_seconds(tmp_path):
    # A listening socket that accepts connections (the kernel does, from the backlog) and never
    # replies: a proxy that hangs. The clip package itself would wait forever here.
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)
    url = f"http://127.0.0.1:{silent.getsockname()[1]}/clip/models/{SHA}/ViT-B-16.pt"
    start = time.monotonic()
    try:
        with pytest.raises(LammError) as raised:
            download_checkpoint(url, str(tmp_path / "cache"), timeout=1, name="ViT-B/16")
    finally:
        silent.close()
    assert time.monotonic() - start < 60
    message = str(raised.value)
    assert "\n" not in message
    for part in (url, str(tmp_path / "cache"), "as ViT-B-16.pt", "MODEL.BACKBONE.NAME /path/to/ViT-B-16.pt",
                 "no answer within 1 s"):
        assert part in message


def test_ensure_backbone_downloads_released_names_with_the_timeout_from_the_environment(tmp_path, monkeypatch):
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)
    url = f"http://127.0.0.1:{silent.getsockname()[1]}/clip/models/{SHA}/ViT-B-16.pt"
    monkeypatch.setattr(clip_loader, "_model_urls", lambda: {"ViT-B/16": url})
    monkeypatch.setattr(clip_loader, "DOWNLOAD_TIMEOUT_S", 0.5)  # as LAMM_DOWNLOAD_TIMEOUT=0.5 sets it
    try:
        with pytest.raises(BackboneError, match="could not download the CLIP weights ViT-B/16"):
            ensure_backbone("ViT-B/16", str(tmp_path))
    finally:
        silent.close()
    with _Server(["ok"]) as server:
        monkeypatch.setattr(clip_loader, "_model_urls", lambda: {"ViT-B/16": server.url()})
        assert ensure_backbone("ViT-B/16", str(tmp_path)) == str(tmp_path / "ViT-B-16.pt")


def test_the_download_error_is_an_oserror_for_callers_that_tolerate_offline_machines():
    assert issubclass(BackboneError, OSError) and issubclass(BackboneError, LammError)


def test_empty_truncated_and_corrupt_backbone_files_are_named(tmp_path):
    empty = tmp_path / "ViT-B-16.pt"
    empty.write_bytes(b"")
    with pytest.raises(BackboneError, match=f"{empty}.*empty"):
        load_clip(str(empty))
    corrupt = tmp_path / "broken.pt"
    corrupt.write_bytes(os.urandom(1000))
    with pytest.raises(BackboneError, match=f"{corrupt} cannot be read as a CLIP checkpoint"):
        load_clip(str(corrupt))
    whole = open(save_tiny_clip(tmp_path / "tiny.pt"), "rb").read()
    truncated = tmp_path / "truncated.pt"
    truncated.write_bytes(whole[: len(whole) // 2])  # an interrupted copy
    with pytest.raises(BackboneError, match=f"{truncated} cannot be read .* truncated or corrupt"):
        load_clip(str(truncated))


def test_load_clip_from_a_state_dict_file_and_from_a_torchscript_archive(tmp_path):
    reference = tiny_clip()
    state_path = save_tiny_clip(tmp_path / "tiny.pt")
    loaded = load_clip(state_path).float()
    torch.testing.assert_close(loaded.token_embedding.weight, reference.token_embedding.weight)
    assert loaded.visual.conv1.weight.dtype == torch.float32

    # OpenAI releases TorchScript archives; a traced CLIP keeps the same state-dict keys.
    archive = torch.jit.trace_module(reference, {"encode_image": torch.randn(1, 3, 32, 32)}, check_trace=False)
    torch.jit.save(archive, str(tmp_path / "tiny_script.pt"))
    from_archive = load_clip(str(tmp_path / "tiny_script.pt")).float()
    # build_model stores CLIP's projections in fp16, as for the released models.
    torch.testing.assert_close(from_archive.text_projection, reference.text_projection.half().float())


def test_unknown_model_name_and_wrong_input_size_are_clear_errors(tmp_path):
    with pytest.raises(ConfigError, match="Did you mean ViT-B/16"):
        load_clip("ViT-B/61")
    with pytest.raises(ConfigError, match=r'INPUT.SIZE "\(32, 32\)"'):
        check_input_size(tiny_clip(), (224, 224), "tiny")


def fresh_import_of_clip_loader():
    """Run the module's code again as a new module (the imported one stays as it is)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("lamm._clip_loader_fresh", clip_loader.__file__)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("value", ["abc", "0", "-5", "inf", "nan"])
def test_a_bad_download_timeout_is_one_error_line_when_a_download_needs_it(value, tmp_path, monkeypatch):
    monkeypatch.setenv("LAMM_DOWNLOAD_TIMEOUT", value)
    module = fresh_import_of_clip_loader()  # the import itself does not fail (every command imports it)
    assert module.DOWNLOAD_TIMEOUT_S is None
    monkeypatch.setattr(clip_loader, "DOWNLOAD_TIMEOUT_S", module.DOWNLOAD_TIMEOUT_S)
    url = f"http://127.0.0.1:9/clip/models/{SHA}/ViT-B-16.pt"
    with pytest.raises(ConfigError, match=f"LAMM_DOWNLOAD_TIMEOUT={value!r} is not a number of seconds > 0: set it"):
        download_checkpoint(url, str(tmp_path))
    (tmp_path / "ViT-B-16.pt").write_bytes(PAYLOAD)  # a cached file needs no timeout
    assert download_checkpoint(url, str(tmp_path)) == str(tmp_path / "ViT-B-16.pt")


def test_the_download_timeout_is_read_from_the_environment(monkeypatch):
    monkeypatch.setenv("LAMM_DOWNLOAD_TIMEOUT", "7.5")
    assert fresh_import_of_clip_loader().DOWNLOAD_TIMEOUT_S == 7.5
    monkeypatch.setenv("LAMM_DOWNLOAD_TIMEOUT", "")  # set but empty, as VAR=$UNSET_VAR makes it: the default
    assert fresh_import_of_clip_loader().DOWNLOAD_TIMEOUT_S == 30


def test_a_backbone_file_with_pickled_code_is_refused_in_one_line_without_torchs_advice(tmp_path, capsys):
    class RunsCode:
        def __reduce__(self):
            return (os.system, (f"touch {tmp_path / 'ran'}",))

    path = tmp_path / "evil.pt"
    torch.save({**tiny_clip().state_dict(), "payload": RunsCode()}, path)
    with pytest.raises(BackboneError) as raised:
        load_clip(str(path))
    message = str(raised.value)
    assert not (tmp_path / "ran").exists()  # nothing ran
    assert message.startswith(f"the backbone file {path} holds pickled Python objects (")
    assert "system), not only tensors: it is not loaded, since unpickling them could run code" in message
    assert "torch.save(model.state_dict(), path)" in message
    for misleading in ("weights_only", "truncated", "corrupt", "\n"):
        assert misleading not in message

"""Fixtures of the dataset tests: a few-shot cache folder per test, a synthetic Caltech101, and a
file server on 127.0.0.1 for the download tests.

``fewshot_cache`` is autouse: few-shot caches go to the test's own folder. Caches are keyed by
the split's fingerprint, and the synthetic splits are the same in every test, so a shared cache
would turn one test's miss into another's hit.
"""
import os
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from datasets.prepare import download
from tools.synthetic.data import make_caltech101


@pytest.fixture(autouse=True)
def fewshot_cache(tmp_path_factory, monkeypatch):
    """The LAMM_CACHE_DIR of this test (outside ``tmp_path``, which tests use as a data root)."""
    cache = tmp_path_factory.mktemp("lamm-cache")
    monkeypatch.setenv("LAMM_CACHE_DIR", str(cache))
    return cache


@pytest.fixture
def caltech(tmp_path):
    """(image_dir, split_path) of a 5-class synthetic Caltech101."""
    dataset_dir = make_caltech101(tmp_path / "data", num_classes=5, train_per_class=6, val_per_class=4,
                                  test_per_class=2)
    return (
        os.path.join(dataset_dir, "101_ObjectCategories"),
        os.path.join(dataset_dir, "split_zhou_Caltech101.json"),
    )


class FileServer:
    """Serves ``files`` ({path: bytes}) with HTTP Range support, and records every request.

    ``interrupt_once``: paths whose first GET sends half the body and drops the connection;
    ``ignore_range``: paths answered with the whole file (200) even for a Range request.
    """

    def __init__(self):
        self.files, self.requests = {}, []
        self.interrupt_once, self.ignore_range = set(), set()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                server.requests.append((self.path, self.headers.get("Range")))
                body = server.files.get(self.path)
                if body is None:
                    self.send_error(404, "Not Found")
                    return
                start = 0
                rng = self.headers.get("Range")
                if rng and self.path not in server.ignore_range:
                    start = int(rng.split("=")[1].split("-")[0])
                    if start >= len(body):
                        self.send_error(416, "Range Not Satisfiable")
                        return
                    self.send_response(206)
                    self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
                else:
                    self.send_response(200)
                self.send_header("Content-Length", str(len(body) - start))
                self.end_headers()
                if self.path in server.interrupt_once:
                    server.interrupt_once.discard(self.path)
                    self.wfile.write(body[start : start + (len(body) - start) // 2])
                    self.wfile.flush()
                    self.close_connection = True
                    return
                self.wfile.write(body[start:])

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
        self.thread.start()
        self.base = f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def url(self, path):
        return self.base + path

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server(monkeypatch):
    monkeypatch.setattr(download, "RETRY_DELAY", 0.0)
    s = FileServer()
    yield s
    s.close()

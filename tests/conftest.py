"""Test setup: use the real Dassl when it is installed, else the test double.

The double lives in tests/_dassl_double and is put on the path only when
``import dassl`` would fail, so it never shadows a real install. Subprocesses
(train.py, the scripts) get the same path through PYTHONPATH.
"""
import atexit
import importlib.util
import os
import shutil
import sys
import tempfile
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
DASSL_DOUBLE = Path(__file__).resolve().parent / "_dassl_double"

USING_DASSL_DOUBLE = importlib.util.find_spec("dassl") is None
if USING_DASSL_DOUBLE:
    sys.path.insert(0, str(DASSL_DOUBLE))
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

os.environ.setdefault("OUTDATED_IGNORE", "1")  # Dassl's wilds dependency checks PyPI at import time
# Few-shot caches of the tests' runs (train.py in subprocesses too) stay out of the user's cache.
if "LAMM_CACHE_DIR" not in os.environ:
    os.environ["LAMM_CACHE_DIR"] = tempfile.mkdtemp(prefix="lamm-test-cache-")
    atexit.register(shutil.rmtree, os.environ["LAMM_CACHE_DIR"], ignore_errors=True)

_extra_paths = [str(REPO_ROOT)] + ([str(DASSL_DOUBLE)] if USING_DASSL_DOUBLE else [])
os.environ["PYTHONPATH"] = os.pathsep.join(
    _extra_paths + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
)


def pytest_report_header(config):
    return "dassl: " + ("test double (tests/_dassl_double)" if USING_DASSL_DOUBLE else "real install")


from tests.fixtures import caltech_root, fake_prepare, lamm_run, silent_proxy, tiny_clip_file  # noqa: E402,F401  (shared fixtures)

"""An autouse fixture for the dataset tests: few-shot caches go to the test's own folder.

Import it into a test module (``from tests.dataset_cache import fewshot_cache  # noqa: F401``):
caches are keyed by the split's fingerprint, and the synthetic splits are the same in every
test, so a shared cache would turn one test's miss into another's hit.
"""
import pytest


@pytest.fixture(autouse=True)
def fewshot_cache(tmp_path_factory, monkeypatch):
    """The LAMM_CACHE_DIR of this test (outside ``tmp_path``, which tests use as a data root)."""
    cache = tmp_path_factory.mktemp("lamm-cache")
    monkeypatch.setenv("LAMM_CACHE_DIR", str(cache))
    return cache

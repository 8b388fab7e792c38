"""Fixtures of the dataset tests.

``fewshot_cache`` is autouse: few-shot caches go to the test's own folder. Caches are keyed by
the split's fingerprint, and the synthetic splits are the same in every test, so a shared cache
would turn one test's miss into another's hit.
"""
import os

import pytest

from tools.synthetic_data import make_caltech101


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

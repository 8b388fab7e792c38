"""lamm.startup: importing lamm turns off the version checks that would wait on the network."""
import importlib

import pytest


def test_after_importing_lamm_the_version_check_package_cannot_be_imported():
    import lamm  # noqa: F401

    with pytest.raises(ImportError):  # wilds then skips its PyPI check (and so does `outdated` itself)
        importlib.import_module("outdated")

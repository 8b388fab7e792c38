"""A fake datasets.prepare for the tests of tools/prepare_data.py and of the sweep that calls it."""
import pytest

from tools import prepare_data


@pytest.fixture
def fake_prepare(monkeypatch):
    """datasets.prepare and datasets.check replaced: nothing is fetched; records what was prepared."""
    state = {"present": set(), "prepared": []}
    monkeypatch.setattr(prepare_data, "_check", lambda info, root: None if info.key in state["present"] else
                        f"{info.name} is not ready under {root}: its folder is missing. Get it with "
                        f"`python -m datasets.prepare {info.key} --root {root}`.")

    def prepare(key, root):
        state["prepared"].append(key)
        state["present"].add(key)
        return 0

    monkeypatch.setattr(prepare_data, "_prepare", prepare)
    monkeypatch.setattr(prepare_data, "_manual_steps", lambda info, root: "    1. register and download by hand")
    monkeypatch.delenv(prepare_data.NO_DOWNLOAD_ENV, raising=False)
    return state

"""trainers/memory.py: when freed memory goes back to the OS (the effect itself: tests/e2e/test_memory_release.py)."""
import pytest

from lamm.errors import ConfigError
from tests.fixtures import tiny_trainer
from trainers.memory import resolve_return_freed_memory


def test_auto_is_on_exactly_when_the_text_tower_checkpoints_on_the_cpu():
    assert resolve_return_freed_memory("auto", True, "cpu")
    assert not resolve_return_freed_memory("auto", False, "cpu")
    assert not resolve_return_freed_memory("auto", True, "cuda")
    assert resolve_return_freed_memory("on", False, "cuda") and not resolve_return_freed_memory("off", True, "cpu")
    with pytest.raises(ConfigError, match="RETURN_FREED_MEMORY must be one of auto, on, off, got 'yes'"):
        resolve_return_freed_memory("yes", True, "cpu")


@pytest.mark.parametrize("checkpointing, mode, called", [("on", "auto", True), ("off", "auto", False),
                                                         ("on", "off", False), ("off", "on", True)])
def test_the_trainer_follows_the_switch(checkpointing, mode, called, caltech_root, tiny_clip_file, tmp_path,
                                        monkeypatch, capsys):
    import trainers.prompt_trainer

    calls = []  # recorded, not done: fixing the allocator here would slow the rest of the test session
    monkeypatch.setattr(trainers.prompt_trainer, "return_freed_memory_to_os", lambda: calls.append(1) or True)
    tiny_trainer("LAMM", caltech_root, tiny_clip_file, tmp_path / "run", "TRAINER.MEMORY.TEXT_CHECKPOINTING",
                 checkpointing, "TRAINER.MEMORY.RETURN_FREED_MEMORY", mode)
    assert calls == ([1] if called else [])
    assert ("Freed memory returned to the OS: on" in capsys.readouterr().out) is called

"""trainers/terminal.py: what reaches the terminal, and LAMM_VERBOSE."""
import io

import pytest

from lamm.errors import ConfigError
from trainers.terminal import TerminalFilter, verbose_from_env

LINES = ["Loading trainer: LAMM\n", "Building transform_train\n", "+ random flip\n", "---------  ----------\n",
         "# classes  4\n", "epoch [1/2] batch [1/2] loss 1.98\n", "Checkpoint saved to /o/prompt_learner/model.pth.tar-1\n",
         "=> result\n", "* accuracy: 25.0%\n", "TRAIN ON BASE CLASSES ONLY (2 of 4), LABEL SPACE: ALL\n"]


def shown(verbose, lines=LINES):
    screen = io.StringIO()
    terminal = TerminalFilter(screen, verbose)
    for line in lines:
        for part in (line[:5], line[5:]):  # print writes a line in pieces
            terminal.write(part)
    with terminal.log_only():
        print("** Config **\nSEED: 1", file=terminal)
    print("Elapsed: 0:00:01", file=terminal)
    terminal.close()
    return screen.getvalue()


def test_by_default_the_terminal_shows_progress_and_results_not_set_up_chatter():
    assert shown(verbose=False).splitlines() == [
        "epoch [1/2] batch [1/2] loss 1.98", "=> result", "* accuracy: 25.0%",
        "TRAIN ON BASE CLASSES ONLY (2 of 4), LABEL SPACE: ALL", "Elapsed: 0:00:01"]


def test_verbose_shows_every_line():
    assert shown(verbose=True) == "".join(LINES) + "** Config **\nSEED: 1\nElapsed: 0:00:01\n"


@pytest.mark.parametrize("value, verbose", [("", False), ("0", False), ("no", False), ("1", True), ("TRUE", True)])
def test_lamm_verbose(value, verbose):
    assert verbose_from_env({"LAMM_VERBOSE": value}) is verbose


def test_a_lamm_verbose_typo_is_an_error():
    with pytest.raises(ConfigError, match=r"LAMM_VERBOSE='verbose': use LAMM_VERBOSE=1"):
        verbose_from_env({"LAMM_VERBOSE": "verbose"})

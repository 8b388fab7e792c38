"""lamm/errors.py: the commands' one error-exit wrapper, ``run_command`` (called as
``errors.run_command``: tests/test_layout.py takes the bare name for the process runner)."""
import pytest

from lamm import errors
from lamm.errors import CLOSED_PIPE_STATUS, ConfigError


def exit_of(main, capsys):
    with pytest.raises(SystemExit) as exit_:
        errors.run_command(main)
    return exit_.value.code, capsys.readouterr().err


def raises(error):
    def main():
        raise error
    return main


def test_bad_input_is_one_error_line_and_status_2(capsys):
    code, err = exit_of(raises(ConfigError("--topk must be at least 1, got 0.")), capsys)
    assert code == 2 and err == "error: --topk must be at least 1, got 0.\n"


def test_the_status_main_returns_is_the_exit_status(capsys):
    assert exit_of(lambda: 1, capsys) == (1, "")
    assert exit_of(lambda: None, capsys) == (0, "")


def test_a_closed_pipe_ends_quietly_with_the_shells_status(capsys):
    code, err = exit_of(raises(BrokenPipeError(32, "Broken pipe")), capsys)
    assert code == CLOSED_PIPE_STATUS == 141 and err == ""


def test_ctrl_c_ends_without_a_traceback(capsys):
    assert exit_of(raises(KeyboardInterrupt()), capsys) == (130, "interrupted\n")


def test_a_bug_keeps_its_traceback():
    with pytest.raises(ZeroDivisionError):
        errors.run_command(lambda: 1 / 0)

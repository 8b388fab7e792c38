"""tools/results/collect.py: what counts as a finished run's result in a log."""
import pytest

from tests.run_folders import eval_log, result_block, train_log
from tools.results.collect import parse_log_lines


# --------------------------------------------------------------------------- log parsing
def test_last_match_after_end_signal_wins():
    lines = train_log(80.0).splitlines() + result_block(81.5)
    assert parse_log_lines(lines).value == 81.5


def test_lines_before_end_signal_are_ignored():
    log = train_log(80.0, val_accuracy=99.9)
    assert parse_log_lines(log.splitlines()).value == 80.0
    # Without the end signal the validation block must not count either.
    no_end = [l for l in log.splitlines() if l != "Finish training"]
    parsed = parse_log_lines(no_end)
    assert parsed.value is None and not parsed.saw_end_signal


def test_finished_training_accepted():
    assert parse_log_lines(train_log(77.7, end_signal="Finished training").splitlines()).value == 77.7


def test_end_signal_must_be_a_whole_line():
    lines = ["Finish training soon", "* accuracy: 50.0%"]
    assert parse_log_lines(lines).value is None
    assert parse_log_lines(["  Finish training  ", "* accuracy: 50.0%"]).value == 50.0  # stripped


def test_keyword_and_test_signal():
    lines = eval_log(66.6, macro_f1=60.1).splitlines()
    assert parse_log_lines(lines).value is None
    assert parse_log_lines(lines, signals=("=> result",)).value == 66.6
    assert parse_log_lines(lines, "macro_f1", ("=> result",)).value == 60.1
    assert parse_log_lines(lines, "error", ("=> result",)).value == pytest.approx(33.4)

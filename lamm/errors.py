"""Errors that mean "the user asked for something that cannot work", with the fix in the message.

Entry points print these without a traceback; anything else is a bug and keeps its traceback.
"""


class LammError(Exception):
    """Base class for input errors that the command line reports as one clear message."""


class ConfigError(LammError, ValueError):
    """A config value is invalid, unknown or inconsistent with another one."""


class DatasetError(LammError):
    """A dataset folder, split file or image is missing or malformed."""


class CheckpointError(LammError):
    """A checkpoint is missing, unreadable, of another trainer, or could not be written."""


class CheckpointNotFoundError(CheckpointError, FileNotFoundError):
    """A checkpoint file or run folder that was asked for does not exist."""


class NonFiniteLossError(LammError, FloatingPointError):
    """Training diverged: the loss is NaN or infinite (the message names the terms and a fix)."""


# What a shell reports for a command that a closed pipe ended (128 + SIGPIPE), as ``yes | head`` does.
CLOSED_PIPE_STATUS = 141


def _discard_stdout() -> None:
    """Point stdout at /dev/null, so that Python's final flush does not fail on the closed pipe."""
    import os
    import sys

    try:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    except (AttributeError, OSError, ValueError):  # not a file (a test's StringIO)
        pass


def run_command(main) -> None:
    """Run a command's ``main()`` and exit with the status it returns (None: 0).

    Bad input (a ``LammError``) becomes one ``error:`` line and exit status 2. Output piped into a
    reader that stops early (``| head``) ends the command quietly with status 141, as for any Unix
    tool; Ctrl-C ends it with status 130. Neither prints a traceback.
    """
    import sys

    try:
        status = main()
        sys.stdout.flush()  # here, not at exit: a closed pipe is then caught below
    except LammError as error:
        print(f"error: {error}", file=sys.stderr)
        sys.exit(2)
    except BrokenPipeError:
        _discard_stdout()
        sys.exit(CLOSED_PIPE_STATUS)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        sys.exit(130)
    sys.exit(status or 0)

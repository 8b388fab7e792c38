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


def run_command(main) -> None:
    """Run a command's ``main()``: bad input becomes one ``error:`` line and exit status 2."""
    import sys

    try:
        main()
    except LammError as error:
        print(f"error: {error}", file=sys.stderr)
        sys.exit(2)

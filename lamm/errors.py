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


class BackboneError(LammError, OSError):
    """A backbone's weights cannot be downloaded or read. An OSError too, as the clip package's
    download errors are, so callers that tolerate an offline machine keep doing so."""


class OutputError(LammError, OSError):
    """A file that a command writes cannot be written (a read-only folder, a folder in the way, ...)."""


def _blocking_file(folder: str):
    """The first part of ``folder``'s path that exists and is a file (so the folder cannot be made)."""
    import os.path as osp

    while folder and not osp.exists(folder):
        folder = osp.dirname(folder.rstrip("/"))
    return folder if folder and not osp.isdir(folder) else None


def check_writable(path: str, flag: str) -> None:
    """Raise an ``OutputError`` now if the file ``path`` (given by ``flag``) cannot be written,
    before a command spends time on a model whose output would then be lost."""
    import os
    import os.path as osp

    folder = osp.dirname(osp.abspath(path))
    if osp.isdir(path):
        raise OutputError(f"{flag} {path} is a folder; give a file name (e.g. {osp.join(path, 'out')}).")
    blocking = _blocking_file(folder)
    if blocking:
        raise OutputError(f"{flag} {path}: {blocking} is a file, not a folder; choose another path.")
    existing = folder
    while not osp.isdir(existing):  # the folder is made on writing: its nearest existing parent must be writable
        existing = osp.dirname(existing)
    if not os.access(existing, os.W_OK | os.X_OK):
        raise OutputError(f"{flag} {path}: cannot write in {existing} (no permission or a read-only file system); "
                          "choose a folder you can write.")


def write_error(path: str, error: OSError, flag: str) -> OutputError:
    """The ``OutputError`` for an ``OSError`` met while writing ``path``."""
    reason = error.strerror or str(error)
    return OutputError(f"{flag} {path}: could not be written ({reason}); choose another path.")


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

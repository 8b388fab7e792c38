"""Small file helpers shared by the trainers, the datasets and the tools."""
import json
import os
import tempfile



def _read_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


# Read once, at import: os.umask can only be read by setting it, which races with other threads.
UMASK = _read_umask()


def make_readable(path: str) -> None:
    """Give a temporary file (mkstemp makes it 0600) the usual mode, as ``open`` would."""
    os.chmod(path, 0o666 & ~UMASK)


def atomic_write(path: str, write) -> None:
    """Call ``write(tmp_path)`` and move the file to ``path``, so that readers see the old file or
    the new one, never a part, also when the process is killed.

    The temporary file sits in the same folder, so ``os.replace`` is a rename on one file system.
    """
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    handle, tmp_path = tempfile.mkstemp(dir=folder, prefix=f".{os.path.basename(path)}.", suffix=".tmp")
    os.close(handle)
    try:
        write(tmp_path)
        make_readable(tmp_path)  # shared data folders are read by other users
        os.replace(tmp_path, path)
    finally:
        if os.path.exists(tmp_path):
            os.remove(tmp_path)


def atomic_write_text(path: str, text: str) -> None:
    def write(tmp_path):
        with open(tmp_path, "w") as tmp:
            tmp.write(text)
            tmp.flush()
            os.fsync(tmp.fileno())

    atomic_write(path, write)


def atomic_write_json(path: str, obj) -> None:
    atomic_write_text(path, json.dumps(obj, indent=2, sort_keys=True) + "\n")


class FileLock:
    """A blocking exclusive lock on ``path`` (created if needed), e.g. around a shared download."""

    def __init__(self, path: str):
        self.path = path
        self._handle = None

    def __enter__(self):
        import fcntl

        os.makedirs(os.path.dirname(os.path.abspath(self.path)), exist_ok=True)
        self._handle = open(self.path, "a+")
        fcntl.flock(self._handle, fcntl.LOCK_EX)
        return self

    def __exit__(self, *exc):
        self._handle.close()
        return False

"""Tee of stdout into a log file (``setup_logger``)."""
import os
import os.path as osp
import sys
import time

from .tools import mkdir_if_missing

__all__ = ["Logger", "setup_logger"]


class Logger:
    """File-like object writing to the console and to ``fpath``.

    ``flush`` also fsyncs the file. Closing (or garbage-collecting) the
    logger closes the wrapped console stream as well, as Dassl's does.
    """

    def __init__(self, fpath=None):
        self.console = sys.stdout
        self.file = None
        if fpath is not None:
            mkdir_if_missing(osp.dirname(fpath))
            self.file = open(fpath, "w")

    def write(self, msg):
        self.console.write(msg)
        if self.file is not None:
            self.file.write(msg)

    def flush(self):
        self.console.flush()
        if self.file is not None:
            self.file.flush()
            os.fsync(self.file.fileno())

    def close(self):
        self.console.close()
        if self.file is not None:
            self.file.close()

    def __enter__(self):
        pass

    def __exit__(self, *args):
        self.close()

    def __del__(self):
        self.close()


def setup_logger(output=None):
    """Redirect ``sys.stdout`` through a Logger.

    ``output`` ending in .txt/.log is the file itself, otherwise the file is
    ``output/log.txt``. An existing file is never overwritten: a
    ``-%Y-%m-%d-%H-%M-%S`` suffix is appended instead.
    """
    if output is None:
        return
    if output.endswith((".txt", ".log")):
        fpath = output
    else:
        fpath = osp.join(output, "log.txt")
    if osp.exists(fpath):
        fpath = fpath + time.strftime("-%Y-%m-%d-%H-%M-%S")
    sys.stdout = Logger(fpath)

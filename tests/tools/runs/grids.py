"""Shared by the tests of tools/runs: a grid's runs in a temporary output, and a train.py call read back."""
from tools.runs.grid import Grid, expand


def grid_runs(tmp_path, trainer="LAMM", datasets=("caltech101",), protocol="fewshot", **kw):
    kw.setdefault("seeds", (1,))
    return expand(Grid((trainer,), tuple(datasets), protocol=protocol, **kw), str(tmp_path), str(tmp_path / "data"))


def pairs(argv):
    """train.py's KEY VALUE overrides as a dict (the last value of a key wins, as in yacs)."""
    start = next(i for i, a in enumerate(argv) if a.startswith(("DATASET.", "RUN.")) and not a.startswith("--"))
    tail = argv[start:]
    return dict(zip(tail[::2], tail[1::2]))


def flag(argv, name):
    return argv[argv.index(name) + 1] if name in argv else None

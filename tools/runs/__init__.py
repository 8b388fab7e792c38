"""Who runs what, where: the running part of tools/ (torch-free)."""
from tools.runs.run import Run  # noqa: F401  (``from tools.runs import Run``)

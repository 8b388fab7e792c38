"""Who runs what, where: the running part of tools/ (torch-free).

- ``run``: ``Run``, one train.py call (its folder and its command);
- ``variants``: named variants (w/o HL, ablations, backbones, official) and ``tag_suffix``;
- ``protocols``: fewshot, dg, incremental, base2new, cross_dataset, each a function to runs;
- ``grid``: ``Grid`` and ``expand`` (every run of a grid, checked), ``stages``;
- ``status``: a run folder's status (finished, unfinished, running elsewhere, not started);
- ``job``: one run as a job of any executor;
- ``sweep``: the command, ``python -m tools.runs.sweep`` (what every script runs).

The methods themselves are ``trainers/methods.py``.
"""
from tools.runs.run import Run  # noqa: F401  (``from tools.runs import Run``)

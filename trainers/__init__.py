"""Dassl trainers of this project, and what a run of them is.

Importing this package registers nothing and imports neither torch nor Dassl, so its torch-free
modules (``methods``: the method table; ``record``: the run record; ``run_folder``: a run's files)
serve sweeps and tables that start light. ``import trainers.registered`` registers every trainer
with Dassl (train.py and the commands on a trained run do).
"""

"""Dassl trainers of this project, and what a run is.

Importing this package registers nothing and needs neither torch nor Dassl, so that the
torch-free modules here (``record``: the run record) serve tools that only read results.
``import trainers.registered`` registers every trainer with Dassl (train.py, the trained-run
loaders).
"""

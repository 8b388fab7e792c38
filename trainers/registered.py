"""Importing this module registers every trainer of the method table with Dassl's TRAINER_REGISTRY."""
import importlib

from .methods import METHODS

for _module in dict.fromkeys(m.module for m in METHODS.values()):
    importlib.import_module(f"{__package__}.{_module}")

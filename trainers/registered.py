"""Importing this module registers every trainer of the method table with Dassl's TRAINER_REGISTRY."""
from . import coop, lamm, maple, zsclip  # noqa: F401

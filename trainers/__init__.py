"""Dassl trainers of this project; importing this package registers all of them."""
from . import cocoop, coop, lamm, maple, zsclip  # noqa: F401

"""Dassl trainers of this project; importing this package registers all of them."""
from . import lamm  # noqa: F401

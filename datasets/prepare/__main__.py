"""``python -m datasets.prepare``: see ``datasets/prepare/cli.py``."""
import sys

from .cli import run

sys.exit(run())

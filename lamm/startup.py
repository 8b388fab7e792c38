"""What every command does before it imports Dassl: nothing may wait on the network unbounded.

Importing Dassl imports ``wilds`` (its DG datasets), which imports the ``outdated`` package; both
start a PyPI version check in non-daemon threads whose HTTP requests have no timeout. Behind a proxy
that accepts connections and never answers, those threads never end, so a finished run never exits.
``wilds`` skips its check when ``outdated`` cannot be imported, and nothing this project runs needs
``outdated``: blocking its import here (``lamm/__init__`` imports this module, and every command
imports ``lamm`` before Dassl) removes both checks. pip's own version check (Dassl's environment
report runs ``pip list``) is turned off for the same reason.
"""
import os
import sys

# None in sys.modules makes ``import outdated`` raise ImportError, which wilds catches.
sys.modules.setdefault("outdated", None)
os.environ.setdefault("PIP_DISABLE_PIP_VERSION_CHECK", "1")

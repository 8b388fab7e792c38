#!/bin/bash
# Shared by every script (run from the repository root): `python -m tools.runs.sweep --foreground ARGS`
# (one run after another, output shown) with the project's interpreter: $PYTHON, else the active
# environment's, else the .venv that install.sh creates when no environment is active (so it works
# without `source .venv/bin/activate`). The sweep reads SEEDS, SHOTS, DATASETS, TARGETS, TAG,
# OFFICIAL, DATA, OUTPUT, PYTHON and LAMM_NO_DOWNLOAD from the environment (docs/SWEEPS.md).
set -euo pipefail
if [ -z "${PYTHON:-}" ]; then
    if [ -z "${VIRTUAL_ENV:-}${CONDA_PREFIX:-}" ] && [ -x .venv/bin/python ]; then
        PYTHON=.venv/bin/python
    elif command -v python >/dev/null 2>&1; then
        PYTHON=python
    else
        PYTHON=python3  # Debian and Ubuntu ship no `python` command
    fi
fi
exec "$PYTHON" -m tools.runs.sweep --foreground "$@"

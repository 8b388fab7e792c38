#!/bin/bash
# LAMM on plain CLIP, few-shot: train and test over seeds 1, 2 and 3.
#
#   bash scripts/lamm/main.sh DATASET SHOTS [KEY VALUE ...]
#
# DATASET names a file in configs/datasets (e.g. caltech101), SHOTS is 1, 2, 4, 8 or 16, and
# KEY VALUE pairs override the config (e.g. TRAINER.LAMM.LAMBDA_WC 1.0).
# Environment: DATA (dataset root, default ./data), OUTPUT (default ./output),
# SEEDS (default "1 2 3"), TAG (folder suffix for runs with overrides; default: the overrides),
# OFFICIAL=1 (the official code's settings, folder suffix _official), LAMM_NO_DOWNLOAD=1 or a
# first argument --no-download (a missing dataset is an error instead of being prepared).
# A finished run is skipped; an unfinished one resumes from its last checkpoint. Runs are named
# and launched by tools/runs (python -m tools.runs.sweep --foreground); --dry-run lists them.
set -euo pipefail
cd "$(dirname "$0")/../.."
exec bash scripts/_launch.sh --methods LAMM --positional datasets shots -- "$@"

#!/bin/bash
# CoCoOpLAMM on the 11 datasets × 1/2/4/8/16 shots × seeds 1-3 (as the paper's few-shot grid).
#
#   bash scripts/coop_lamm/fewshot.sh [KEY VALUE ...]
#
# DATASETS, SHOTS and SEEDS narrow the grid; DATA, OUTPUT, TAG and OFFICIAL as for main.sh.
set -euo pipefail
cd "$(dirname "$0")/../.."
exec bash scripts/_launch.sh --methods CoCoOpLAMM --positional -- "$@"

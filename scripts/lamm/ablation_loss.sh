#!/bin/bash
# Each hierarchical-loss term on or off at 16 shots (paper Table 4): the six partial combinations
# ce_wc, ce_cos, ce_kd, ce_wc_cos, ce_wc_kd, ce_cos_kd (variant group "loss" in tools/runs/variants.py).
# CE alone is fewshot_wo_hl.sh and all four terms the default run (fewshot.sh / main.sh).
# DATASETS and SEEDS narrow it; DATA and OUTPUT as for main.sh.
set -euo pipefail
cd "$(dirname "$0")/../.."
SHOTS=16 exec bash scripts/_launch.sh --methods LAMM --variants loss --positional -- "$@"

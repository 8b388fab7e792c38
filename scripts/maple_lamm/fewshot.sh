#!/bin/bash
# MaPLeLAMM on the 11 datasets × 1/2/4/8/16 shots × seeds 1-3 (paper Fig. 3 and Table 3).
#
#   bash scripts/maple_lamm/fewshot.sh [KEY VALUE ...]
#
# DATASETS, SHOTS and SEEDS narrow the grid; DATA, OUTPUT and TAG as for main.sh.
set -euo pipefail
exec bash "$(dirname "$0")/../sweep_fewshot.sh" MaPLeLAMM vit_b16_c2_ep5_batch4_2ctx "$@"

#!/bin/bash
# CoOp on the 11 datasets × 1/2/4/8/16 shots × seeds 1-3 (paper Fig. 3 and Table 3).
#
#   bash scripts/coop/fewshot.sh [KEY VALUE ...]
#
# DATASETS, SHOTS and SEEDS narrow the grid; DATA, OUTPUT and TAG as for main.sh.
set -euo pipefail
exec bash "$(dirname "$0")/../sweep_fewshot.sh" CoOp vit_b16_ep50_ctxv1 "$@"

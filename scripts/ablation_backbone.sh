#!/bin/bash
# Vision backbones (paper Fig. 4): TRAINER on RN50, RN101, ViT-B/32 and ViT-B/16 at 16 shots.
#
#   bash scripts/ablation_backbone.sh TRAINER [KEY VALUE ...]     # e.g. LAMM, CoOpLAMM, CoOp
#
# ViT-B/16 is the main sweep's run; the others go to <config>_16shots_<rn50|rn101|vit_b32>.
# BACKBONES (e.g. "RN50 ViT-B/16"), SHOTS (default 16), DATASETS, SEEDS narrow it.
set -euo pipefail
cd "$(dirname "$0")/.."
SHOTS=${SHOTS:-16} exec bash scripts/_launch.sh --variants "${BACKBONES:-backbones}" --positional methods -- "$@"

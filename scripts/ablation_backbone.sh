#!/bin/bash
# Vision backbones (paper Fig. 4): TRAINER on RN50, RN101, ViT-B/32 and ViT-B/16 at 16 shots.
#
#   bash scripts/ablation_backbone.sh TRAINER [KEY VALUE ...]     # e.g. LAMM, CoOpLAMM, CoOp
#
# ViT-B/16 is the main sweep's run; the others go to <config>_16shots_<rn50|rn101|vit_b32>.
# BACKBONES, SHOTS (default 16), DATASETS, SEEDS narrow it.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/config_prefix.sh
TRAINER=$1
shift
PREFIX=$(config_prefix "${TRAINER}")
export SHOTS=${SHOTS:-16}
for BACKBONE in ${BACKBONES:-RN50 RN101 ViT-B/32 ViT-B/16}; do
    if [ "${BACKBONE}" = "ViT-B/16" ]; then
        bash scripts/sweep_fewshot.sh "${TRAINER}" "${PREFIX}" "$@"
    else
        TAG=$(echo "${BACKBONE}" | tr 'A-Z-' 'a-z_' | tr -d '/') bash scripts/sweep_fewshot.sh "${TRAINER}" "${PREFIX}" \
            MODEL.BACKBONE.NAME "${BACKBONE}" "$@"
    fi
done

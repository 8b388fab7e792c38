#!/bin/bash
# Zero-shot CLIP (ViT-B/16) with CoOp's template for the dataset: evaluation only.
#
#   bash scripts/zsclip/zeroshot.sh DATASET [KEY VALUE ...]
#
# Writes OUTPUT/DATASET/ZeroshotCLIP/vit_b16[_TAG]/seed1, or $DIR (zero-shot has no randomness;
# the seed folder keeps the layout of the trained methods, so parse_test_res.py reads it alike).
set -euo pipefail
cd "$(dirname "$0")/../.."
if [ $# -lt 1 ]; then
    echo "usage: bash scripts/zsclip/zeroshot.sh DATASET [KEY VALUE ...]" >&2
    exit 2
fi
DATASET=$1
shift
DATA=${DATA:-./data}
OUTPUT=${OUTPUT:-./output}
PYTHON=${PYTHON:-python}
source scripts/config_prefix.sh
DIR=${DIR:-${OUTPUT}/${DATASET}/ZeroshotCLIP/vit_b16$(override_suffix "$@")/seed1}
if [ -f "${DIR}/results.json" ]; then
    echo "Results are available in ${DIR} (skip)"
    exit 0
fi
"${PYTHON}" train.py \
    --root "${DATA}" \
    --seed 1 \
    --trainer ZeroshotCLIP \
    --dataset-config-file "configs/datasets/${DATASET}.yaml" \
    --config-file configs/trainers/ZeroshotCLIP/vit_b16.yaml \
    --output-dir "${DIR}" \
    --eval-only \
    "$@"

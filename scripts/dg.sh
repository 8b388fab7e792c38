#!/bin/bash
# Domain generalisation (paper Table 1): train on ImageNet with 16 shots, then evaluate the same
# checkpoint on ImageNetV2, ImageNet-Sketch, ImageNet-A and ImageNet-R.
#
#   bash scripts/dg.sh TRAINER [KEY VALUE ...]        # TRAINER: LAMM, CoOp, CoOpLAMM, MaPLe, MaPLeLAMM
#
# Source runs: OUTPUT/imagenet/TRAINER/<config>_16shots[_TAG]/seed<S> (as scripts/<method>/main.sh);
# targets: OUTPUT/evaluation/TRAINER/<config>_16shots[_TAG]/<target>/seed<S>. A and R have 200 of
# ImageNet's classes: the ImageNet model's labels for those classes are used (matched by wnid).
# TARGETS and SEEDS narrow it; DATA, OUTPUT, TAG as for main.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/config_prefix.sh
TRAINER=$1
shift
PREFIX=$(config_prefix "${TRAINER}")
OUTPUT=${OUTPUT:-./output}
DATA=${DATA:-./data}
SEEDS=${SEEDS:-1 2 3}
PYTHON=${PYTHON:-python}
TARGETS=${TARGETS:-imagenetv2 imagenet_sketch imagenet_a imagenet_r}
EXP=${PREFIX}_16shots$(override_suffix "$@")

SEEDS="${SEEDS}" bash scripts/run_seeds.sh "${TRAINER}" "${PREFIX}" imagenet 16 "$@"
for SEED in ${SEEDS}; do
    SOURCE=${OUTPUT}/imagenet/${TRAINER}/${EXP}/seed${SEED}
    for TARGET in ${TARGETS}; do
        DIR=${OUTPUT}/evaluation/${TRAINER}/${EXP}/${TARGET}/seed${SEED}
        if [ -f "${DIR}/results.json" ]; then
            echo "Results are available in ${DIR} (skip)"
            continue
        fi
        "${PYTHON}" train.py --root "${DATA}" --seed "${SEED}" --trainer "${TRAINER}" \
            --dataset-config-file "configs/datasets/${TARGET}.yaml" \
            --config-file "configs/trainers/${TRAINER}/${PREFIX}_16shots.yaml" \
            --output-dir "${DIR}" --model-dir "${SOURCE}" --eval-only "$@"
    done
done

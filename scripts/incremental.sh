#!/bin/bash
# Class-incremental learning (paper Table 2): train on Set 1 (the base half of the classes), then
# continue on Set 2 (the new half) with both sets in the label space; test each set in its own
# label space after each stage.
#
#   bash scripts/incremental.sh TRAINER DATASET [KEY VALUE ...]
#
# TRAINER: LAMM, CoOp, CoOpLAMM, MaPLe, MaPLeLAMM (ZeroshotCLIP: zero-shot on both sets).
# Stage 2 starts from stage 1's prompts (MODEL.INIT_WEIGHTS). For the LAMM trainers the Set-1 label
# embeddings are frozen (TRAINER.LAMM.FREEZE_LOADED_LABELS) and only Set 2's train; CoOp's and
# MaPLe's shared prompts keep training. Runs, under OUTPUT/incremental/DATASET/TRAINER/<config>_16shots[_TAG]/:
#   stage1_set1/seed<S>   trained on Set 1, tested on Set 1
#   stage1_set2/seed<S>   the stage-1 model tested on Set 2
#   stage2_train/seed<S>  continued on Set 2 (tested on all classes)
#   stage2_set1/seed<S>, stage2_set2/seed<S>   the stage-2 model tested on each set
# SEEDS, SHOTS (default 16), DATA, OUTPUT, TAG as for main.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/config_prefix.sh
TRAINER=$1
DATASET=$2
shift 2
OUTPUT=${OUTPUT:-./output}
DATA=${DATA:-./data}
SEEDS=${SEEDS:-1 2 3}
SHOTS=${SHOTS:-16}
PYTHON=${PYTHON:-python}
DATASET_FILE=configs/datasets/${DATASET}.yaml

run() {  # run DIR ARGS...: train.py into DIR unless it has a result
    local dir=$1
    shift
    if [ -f "${dir}/results.json" ]; then
        echo "Results are available in ${dir} (skip)"
        return
    fi
    "${PYTHON}" train.py --root "${DATA}" --dataset-config-file "${DATASET_FILE}" --output-dir "${dir}" "$@"
}

if [ "${TRAINER}" = "ZeroshotCLIP" ]; then
    BASE=${OUTPUT}/incremental/${DATASET}/ZeroshotCLIP/vit_b16$(override_suffix "$@")
    for SET in base:set1 new:set2; do
        run "${BASE}/stage1_${SET#*:}/seed1" --seed 1 --trainer ZeroshotCLIP --eval-only \
            --config-file configs/trainers/ZeroshotCLIP/vit_b16.yaml DATASET.SUBSAMPLE_CLASSES "${SET%:*}" "$@"
    done
    exit 0
fi

PREFIX=$(config_prefix "${TRAINER}")
CONFIG=configs/trainers/${TRAINER}/${PREFIX}_${SHOTS}shots.yaml
BASE=${OUTPUT}/incremental/${DATASET}/${TRAINER}/${PREFIX}_${SHOTS}shots$(override_suffix "$@")
for SEED in ${SEEDS}; do
    COMMON=(--seed "${SEED}" --trainer "${TRAINER}" --config-file "${CONFIG}")
    STAGE1=${BASE}/stage1_set1/seed${SEED}
    STAGE2=${BASE}/stage2_train/seed${SEED}
    run "${STAGE1}" "${COMMON[@]}" DATASET.SUBSAMPLE_CLASSES base "$@"
    # Set 2's classes are unknown to the stage-1 model: LAMM scores them with their word embeddings.
    run "${BASE}/stage1_set2/seed${SEED}" "${COMMON[@]}" --eval-only --model-dir "${STAGE1}" \
        DATASET.SUBSAMPLE_CLASSES new TRAINER.LAMM.UNSEEN_CLASSES init "$@"
    run "${STAGE2}" "${COMMON[@]}" DATASET.SUBSAMPLE_CLASSES all DATASET.TRAIN_CLASSES new \
        MODEL.INIT_WEIGHTS "${STAGE1}" TRAINER.LAMM.FREEZE_LOADED_LABELS True "$@"
    for SET in base:set1 new:set2; do
        run "${BASE}/stage2_${SET#*:}/seed${SEED}" "${COMMON[@]}" --eval-only --model-dir "${STAGE2}" \
            DATASET.SUBSAMPLE_CLASSES "${SET%:*}" "$@"
    done
done

#!/bin/bash
# Shared by scripts/<method>/main.sh: run one trainer on one dataset and shot count, per seed.
#
#   bash scripts/run_seeds.sh TRAINER CONFIG_PREFIX DATASET SHOTS [KEY VALUE ...]
#
# Uses configs/trainers/TRAINER/CONFIG_PREFIX_<SHOTS>shots.yaml and writes
# OUTPUT/DATASET/TRAINER/CONFIG_PREFIX_<SHOTS>shots[_TAG]/seed<S>.
set -euo pipefail
if [ $# -lt 4 ]; then
    echo "usage: bash scripts/run_seeds.sh TRAINER CONFIG_PREFIX DATASET SHOTS [KEY VALUE ...]" >&2
    exit 2
fi
TRAINER=$1
CFG=$2_$4shots
DATASET=$3
SHOTS=$4
shift 4
if ! [[ "$SHOTS" =~ ^[1-9][0-9]*$ ]]; then
    echo "error: SHOTS must be a positive number of images per class (1, 2, 4, 8 or 16), got '$SHOTS'" >&2
    exit 2
fi
DATA=${DATA:-./data}
OUTPUT=${OUTPUT:-./output}
SEEDS=${SEEDS:-1 2 3}
PYTHON=${PYTHON:-python}

CONFIG_FILE=configs/trainers/${TRAINER}/${CFG}.yaml
DATASET_FILE=configs/datasets/${DATASET}.yaml
for f in "$CONFIG_FILE" "$DATASET_FILE"; do
    if [ ! -f "$f" ]; then
        echo "error: $f not found (available: $(ls "$(dirname "$f")" | tr '\n' ' '))" >&2
        exit 2
    fi
done
if [ $(($# % 2)) -ne 0 ]; then
    echo "error: config overrides come in KEY VALUE pairs, got: $*" >&2
    exit 2
fi

# Runs with overrides get their own folder, so they never pass for the default runs.
source scripts/config_prefix.sh
EXP=${CFG}$(override_suffix "$@")

for SEED in ${SEEDS}; do
    DIR=${OUTPUT}/${DATASET}/${TRAINER}/${EXP}/seed${SEED}
    if [ -f "${DIR}/results.json" ]; then
        echo "Results are available in ${DIR} (skip)"
        continue
    fi
    if [ -d "${DIR}" ]; then
        echo "Resuming ${DIR}"
    else
        echo "Running ${DIR}"
    fi
    "${PYTHON}" train.py \
        --root "${DATA}" \
        --seed "${SEED}" \
        --trainer "${TRAINER}" \
        --dataset-config-file "${DATASET_FILE}" \
        --config-file "${CONFIG_FILE}" \
        --output-dir "${DIR}" \
        DATASET.NUM_SHOTS "${SHOTS}" \
        "$@"
done

#!/bin/bash
# Shared by scripts/<method>/fewshot.sh: one method over datasets × shots × seeds (paper Fig. 3).
#
#   bash scripts/sweep_fewshot.sh TRAINER CONFIG_PREFIX [KEY VALUE ...]
#
# Narrow it with DATASETS="caltech101 dtd", SHOTS="16", SEEDS="1"; TAG names a variant.
# Finished runs are skipped and unfinished ones resumed (scripts/run_seeds.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
TRAINER=$1
CONFIG_PREFIX=$2
shift 2
DATASETS=${DATASETS:-imagenet caltech101 oxford_pets stanford_cars oxford_flowers food101 fgvc_aircraft sun397 dtd eurosat ucf101}
SHOTS=${SHOTS:-1 2 4 8 16}
for DATASET in ${DATASETS}; do
    for K in ${SHOTS}; do
        bash scripts/run_seeds.sh "${TRAINER}" "${CONFIG_PREFIX}" "${DATASET}" "${K}" "$@"
    done
done

#!/bin/bash
# MaPLe (deep multi-modal prompts), few-shot: train and test over seeds 1, 2 and 3.
#
#   bash scripts/maple/main.sh DATASET SHOTS [KEY VALUE ...]
#
# Same interface and environment (DATA, OUTPUT, SEEDS, TAG) as scripts/lamm/main.sh.
set -euo pipefail
cd "$(dirname "$0")/../.."
exec bash scripts/run_seeds.sh MaPLe vit_b16_c2_ep5_batch4_2ctx "$@"

#!/bin/bash
# MaPLe (deep multi-modal prompts), few-shot: train and test over seeds 1, 2 and 3.
#
#   bash scripts/maple/main.sh DATASET SHOTS [KEY VALUE ...]
#
# Same interface and environment (DATA, OUTPUT, SEEDS, TAG, OFFICIAL) as scripts/lamm/main.sh.
set -euo pipefail
cd "$(dirname "$0")/../.."
exec bash scripts/_launch.sh --methods MaPLe --positional datasets shots -- "$@"

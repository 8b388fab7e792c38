#!/bin/bash
# Any method of trainers/methods.py, few-shot: train and test over seeds 1, 2 and 3. A method
# without a script folder of its own runs here; the folders are those of scripts/<method>/main.sh.
#
#   bash scripts/main.sh TRAINER DATASET SHOTS [KEY VALUE ...]       # e.g. LAMM caltech101 16
#
# Same environment (DATA, OUTPUT, SEEDS, TAG, OFFICIAL, LAMM_NO_DOWNLOAD) as scripts/lamm/main.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
exec bash scripts/_launch.sh --positional methods datasets shots -- "$@"

#!/bin/bash
# CoCoOp (learned context shifted per image by a Meta-Net), few-shot: train and test over seeds 1, 2 and 3.
#
#   bash scripts/coop/main.sh DATASET SHOTS [KEY VALUE ...]
#
# Same interface and environment (DATA, OUTPUT, SEEDS, TAG, OFFICIAL) as scripts/lamm/main.sh.
set -euo pipefail
cd "$(dirname "$0")/../.."
exec bash scripts/_launch.sh --methods CoCoOp --positional datasets shots -- "$@"

#!/bin/bash
# CoCoOp + LAMM (per-image context and learned labels), few-shot: train and test over seeds 1, 2 and 3.
#
#   bash scripts/coop_lamm/main.sh DATASET SHOTS [KEY VALUE ...]
#
# Same interface and environment (DATA, OUTPUT, SEEDS, TAG, OFFICIAL) as scripts/lamm/main.sh.
set -euo pipefail
cd "$(dirname "$0")/../.."
exec bash scripts/_launch.sh --methods CoCoOpLAMM --positional datasets shots -- "$@"

#!/bin/bash
# Zero-shot CLIP (ViT-B/16) with CoOp's template for the dataset: evaluation only.
#
#   bash scripts/zsclip/zeroshot.sh DATASET [KEY VALUE ...]
#
# Writes OUTPUT/DATASET/ZeroshotCLIP/vit_b16[_TAG]/seed1, or $DIR (zero-shot has no randomness;
# the seed folder keeps the layout of the trained methods, so parse_test_res.py reads it alike).
set -euo pipefail
cd "$(dirname "$0")/../.."
exec bash scripts/_launch.sh --methods ZeroshotCLIP --run-dir "${DIR:-}" --positional datasets -- "$@"

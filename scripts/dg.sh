#!/bin/bash
# Domain generalisation (paper Table 1): train on ImageNet with 16 shots, then evaluate the same
# checkpoint on ImageNetV2, ImageNet-Sketch, ImageNet-A and ImageNet-R.
#
#   bash scripts/dg.sh TRAINER [KEY VALUE ...]        # TRAINER: LAMM, CoOp, CoOpLAMM, MaPLe, MaPLeLAMM
#
# Source runs: OUTPUT/imagenet/TRAINER/<config>_16shots[_TAG]/seed<S> (as scripts/<method>/main.sh);
# targets: OUTPUT/evaluation/TRAINER/<config>_16shots[_TAG]/<target>/seed<S>. A and R have 200 of
# ImageNet's classes: the ImageNet model's labels for those classes are used (matched by wnid).
# TARGETS (or DATASETS) and SEEDS narrow it; DATA, OUTPUT, TAG, OFFICIAL as for main.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
exec bash scripts/_launch.sh --protocol dg --positional methods -- "$@"

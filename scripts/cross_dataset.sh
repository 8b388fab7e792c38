#!/bin/bash
# Cross-dataset transfer: train on ImageNet with 16 shots, evaluate that model on the other 10
# benchmarks (classes the labels never saw keep their word embeddings, LAMM trainers).
#
#   bash scripts/cross_dataset.sh TRAINER [KEY VALUE ...]
#
# Source runs: OUTPUT/imagenet/TRAINER/<config>_16shots[_TAG]/seed<S> (main.sh's, shared with dg.sh);
# targets: OUTPUT/cross_dataset/TRAINER/<config>_16shots[_TAG]/<target>/seed<S>.
# TARGETS (or DATASETS; not imagenet, the source), SHOTS (default 16) and SEEDS (default 1 2 3) narrow it;
# DATA, OUTPUT, TAG, OFFICIAL as for main.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
exec bash scripts/_launch.sh --protocol cross_dataset --positional methods -- "$@"

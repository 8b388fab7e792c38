#!/bin/bash
# Base-to-new generalisation (CoCoOp's protocol): train on the base half of the classes at 16 shots,
# then evaluate that model on the base classes and on the new classes.
#
#   bash scripts/base2new.sh TRAINER DATASET [KEY VALUE ...]     # any trainer, ZeroshotCLIP too
#
# Runs, under OUTPUT/base2new/DATASET/TRAINER/<config>_16shots[_TAG]/: train_base/seed<S> (trained
# and tested on base), test_base/seed<S> and test_new/seed<S> (evaluations of that model). The
# new classes keep their word embeddings (LAMM trainers). SEEDS (default 1 2 3), SHOTS (default 16),
# DATA, OUTPUT, TAG, OFFICIAL as for main.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
exec bash scripts/_launch.sh --protocol base2new --positional methods datasets -- "$@"

#!/bin/bash
# Class-incremental learning (paper Table 2): train on Set 1 (the base half of the classes), then
# continue on Set 2 (the new half) with both sets in the label space; test each set in its own
# label space after each stage.
#
#   bash scripts/incremental.sh TRAINER DATASET [KEY VALUE ...]
#
# TRAINER: LAMM, CoOp, CoOpLAMM, MaPLe, MaPLeLAMM (ZeroshotCLIP: zero-shot on both sets).
# Stage 2 starts from stage 1's prompts (MODEL.INIT_WEIGHTS). For the LAMM trainers the Set-1 label
# embeddings are frozen (TRAINER.LAMM.FREEZE_LOADED_LABELS) and only Set 2's train; CoOp's and
# MaPLe's shared prompts keep training. Runs, under OUTPUT/incremental/DATASET/TRAINER/<config>_16shots[_TAG]/:
#   stage1_set1/seed<S>   trained on Set 1, tested on Set 1
#   stage1_set2/seed<S>   the stage-1 model tested on Set 2
#   stage2_train/seed<S>  continued on Set 2 (tested on all classes)
#   stage2_set1/seed<S>, stage2_set2/seed<S>   the stage-2 model tested on each set
# SEEDS, SHOTS (default 16), DATA, OUTPUT, TAG, OFFICIAL as for main.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
exec bash scripts/_launch.sh --protocol incremental --positional methods datasets -- "$@"

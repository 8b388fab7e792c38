#!/bin/bash
# Label embeddings initialised at random instead of from the class names' words (paper Table 5),
# on the few-shot grid (SHOTS, DATASETS, SEEDS narrow it).
set -euo pipefail
TAG=random_init exec bash "$(dirname "$0")/../sweep_fewshot.sh" LAMM vit_b16_ep50_ctxv1 TRAINER.LAMM.LABEL_INIT random "$@"

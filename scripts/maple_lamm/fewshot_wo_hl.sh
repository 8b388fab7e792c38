#!/bin/bash
# MaPLeLAMM without the hierarchical loss (cross-entropy only; paper Table 3, "w/o HL"), same grid as fewshot.sh.
set -euo pipefail
TAG=woHL exec bash "$(dirname "$0")/../sweep_fewshot.sh" MaPLeLAMM vit_b16_c2_ep5_batch4_2ctx TRAINER.LAMM.HIERARCHICAL_LOSS False "$@"

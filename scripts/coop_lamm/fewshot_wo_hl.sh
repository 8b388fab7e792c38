#!/bin/bash
# CoOpLAMM without the hierarchical loss (cross-entropy only; paper Table 3, "w/o HL"), same grid as fewshot.sh.
set -euo pipefail
TAG=woHL exec bash "$(dirname "$0")/../sweep_fewshot.sh" CoOpLAMM vit_b16_ep50_ctxv1 TRAINER.LAMM.HIERARCHICAL_LOSS False "$@"

#!/bin/bash
# Each hierarchical-loss term on or off at 16 shots (paper Table 4): the six partial combinations.
# CE alone is fewshot_wo_hl.sh and all four terms the default run (fewshot.sh / main.sh).
# DATASETS and SEEDS narrow it; DATA and OUTPUT as for main.sh.
set -euo pipefail
cd "$(dirname "$0")/../.."
WC=TRAINER.LAMM.LAMBDA_WC; COS=TRAINER.LAMM.LAMBDA_COS; KD=TRAINER.LAMM.LAMBDA_KD
export SHOTS=16
TAG=ce_wc bash scripts/sweep_fewshot.sh LAMM vit_b16_ep50_ctxv1 $COS 0.0 $KD 0.0 "$@"
TAG=ce_cos bash scripts/sweep_fewshot.sh LAMM vit_b16_ep50_ctxv1 $WC 0.0 $KD 0.0 "$@"
TAG=ce_kd bash scripts/sweep_fewshot.sh LAMM vit_b16_ep50_ctxv1 $WC 0.0 $COS 0.0 "$@"
TAG=ce_wc_cos bash scripts/sweep_fewshot.sh LAMM vit_b16_ep50_ctxv1 $KD 0.0 "$@"
TAG=ce_wc_kd bash scripts/sweep_fewshot.sh LAMM vit_b16_ep50_ctxv1 $COS 0.0 "$@"
TAG=ce_cos_kd bash scripts/sweep_fewshot.sh LAMM vit_b16_ep50_ctxv1 $WC 0.0 "$@"

#!/bin/bash
# Zero-shot CLIP on every benchmark dataset and ImageNet's shifted test sets (DATASETS narrows it).
set -euo pipefail
cd "$(dirname "$0")/../.."
DATASETS=${DATASETS:-benchmarks dg_targets} exec bash scripts/_launch.sh --methods ZeroshotCLIP --positional -- "$@"

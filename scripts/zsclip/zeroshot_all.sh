#!/bin/bash
# Zero-shot CLIP on every benchmark dataset and ImageNet's shifted test sets (DATASETS narrows it).
set -euo pipefail
cd "$(dirname "$0")/../.."
DATASETS=${DATASETS:-imagenet caltech101 oxford_pets stanford_cars oxford_flowers food101 fgvc_aircraft sun397 dtd eurosat ucf101 imagenetv2 imagenet_sketch imagenet_a imagenet_r}
for DATASET in ${DATASETS}; do
    bash scripts/zsclip/zeroshot.sh "${DATASET}" "$@"
done

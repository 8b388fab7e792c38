#!/bin/bash
# CoCoOpLAMM without the hierarchical loss (cross-entropy only, as Table 3's "w/o HL"), same grid as fewshot.sh,
# in <config>_<K>shots_woHL (variant woHL in tools/runs/variants.py).
set -euo pipefail
cd "$(dirname "$0")/../.."
exec bash scripts/_launch.sh --methods CoCoOpLAMM --variants woHL --positional -- "$@"

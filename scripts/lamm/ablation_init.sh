#!/bin/bash
# Label embeddings initialised at random instead of from the class names' words (paper Table 5),
# on the few-shot grid (SHOTS, DATASETS, SEEDS narrow it); folders <config>_<K>shots_random_init.
set -euo pipefail
cd "$(dirname "$0")/../.."
exec bash scripts/_launch.sh --methods LAMM --variants random_init --positional -- "$@"

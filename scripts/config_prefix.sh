#!/bin/bash
# Sourced by the experiment scripts: the config prefix of each trainer's shipped configs.
config_prefix() {
    case "$1" in
        LAMM|CoOp|CoOpLAMM) echo vit_b16_ep50_ctxv1 ;;
        MaPLe|MaPLeLAMM) echo vit_b16_c2_ep5_batch4_2ctx ;;
        *) echo "error: unknown trainer '$1' (LAMM, CoOp, CoOpLAMM, MaPLe, MaPLeLAMM)" >&2; return 2 ;;
    esac
}

# A folder-name suffix for runs with config overrides: $TAG, else the overrides themselves.
override_suffix() {
    if [ $# -gt 0 ]; then
        echo "_${TAG:-$(echo "$*" | tr -c 'A-Za-z0-9._=\n-' '-' | tr -s '-')}"
    fi
}

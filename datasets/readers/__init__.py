"""The Dassl readers; importing this package registers each with Dassl's DATASET_REGISTRY.

One module per CoOp dataset config (``configs/datasets/<name>.yaml``), each a
``common.LabelSpaceDataset``; ``common``, ``fewshot``, ``base_new`` and ``image_check`` are
what they share. The Dassl-free facts they read are one folder up (``datasets/catalog.py``,
``split_file.py``, ...); building a missing split file is ``datasets/prepare/builders.py``.
"""
from . import (  # noqa: F401
    caltech101,
    dtd,
    eurosat,
    fgvc_aircraft,
    food101,
    imagenet,
    imagenet_a,
    imagenet_r,
    imagenet_sketch,
    imagenetv2,
    oxford_flowers,
    oxford_pets,
    stanford_cars,
    sun397,
    ucf101,
)

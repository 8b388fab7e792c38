"""Importing this module registers every reader with Dassl's DATASET_REGISTRY (``import datasets.readers``).

One module per CoOp dataset config (``configs/datasets/<name>.yaml``), each a
``common.LabelSpaceDataset``.
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

"""Food-101 (Bossard et al., 2014) with CoOp's split: 101 classes, 50500/20200/30300 images.

The split file is read by ``common.SplitFileDataset``; ``python -m datasets.prepare --build-split``
builds a missing one without Dassl (``datasets/prepare/builders.py``).
"""
from dassl.data.datasets import DATASET_REGISTRY

from ..catalog import CATALOG
from .common import SplitFileDataset


@DATASET_REGISTRY.register()
class Food101(SplitFileDataset):
    info = CATALOG["food101"]

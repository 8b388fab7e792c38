"""SUN397 (Xiao et al., 2010) with CoOp's split: 397 classes, 15880/3970/19850 images.

The split file is read by ``common.SplitFileDataset``; ``python -m datasets.prepare --build-split``
builds a missing one without Dassl (``datasets/prepare/builders.py``).
"""
from dassl.data.datasets import DATASET_REGISTRY

from ..catalog import CATALOG
from .common import SplitFileDataset


@DATASET_REGISTRY.register()
class SUN397(SplitFileDataset):
    info = CATALOG["sun397"]

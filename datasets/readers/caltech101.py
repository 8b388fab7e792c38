"""Caltech101 (Fei-Fei et al., 2004) with CoOp's split: 100 classes, 4128/1649/2465 images."""
from dassl.data.datasets import DATASET_REGISTRY

from ..catalog import CATALOG
from .common import SplitFileDataset


@DATASET_REGISTRY.register()
class Caltech101(SplitFileDataset):
    info = CATALOG["caltech101"]

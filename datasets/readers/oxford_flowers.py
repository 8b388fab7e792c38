"""Oxford Flowers 102 (Nilsback & Zisserman, 2008) with CoOp's split: 102 classes, 4093/1633/2463 images."""
from dassl.data.datasets import DATASET_REGISTRY

from ..catalog import CATALOG
from .common import SplitFileDataset


@DATASET_REGISTRY.register()
class OxfordFlowers(SplitFileDataset):
    info = CATALOG["oxford_flowers"]

"""SUN397 (Xiao et al., 2010) with CoOp's split: 397 classes, 15880/3970/19850 images."""
from dassl.data.datasets import DATASET_REGISTRY

from ..catalog import CATALOG
from .common import SplitFileDataset


@DATASET_REGISTRY.register()
class SUN397(SplitFileDataset):
    info = CATALOG["sun397"]

"""Food-101 (Bossard et al., 2014) with CoOp's split: 101 classes, 50500/20200/30300 images."""
from dassl.data.datasets import DATASET_REGISTRY

from ..catalog import CATALOG
from .common import SplitFileDataset


@DATASET_REGISTRY.register()
class Food101(SplitFileDataset):
    info = CATALOG["food101"]

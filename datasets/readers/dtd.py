"""Describable Textures (Cimpoi et al., 2014) with CoOp's split: 47 classes, 2820/1128/1692 images."""
from dassl.data.datasets import DATASET_REGISTRY

from ..catalog import CATALOG
from .common import SplitFileDataset


@DATASET_REGISTRY.register()
class DescribableTextures(SplitFileDataset):
    info = CATALOG["dtd"]

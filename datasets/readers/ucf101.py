"""UCF101 middle frames (Soomro et al., 2012) with CoOp's split: 101 actions, 7639/1898/3783 images."""
from dassl.data.datasets import DATASET_REGISTRY

from ..catalog import CATALOG
from .common import SplitFileDataset


@DATASET_REGISTRY.register()
class UCF101(SplitFileDataset):
    info = CATALOG["ucf101"]

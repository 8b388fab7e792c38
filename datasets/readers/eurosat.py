"""EuroSAT RGB (Helber et al., 2019) with CoOp's split: 10 classes, 13500/5400/8100 images."""
from dassl.data.datasets import DATASET_REGISTRY

from ..catalog import CATALOG
from .common import SplitFileDataset


@DATASET_REGISTRY.register()
class EuroSAT(SplitFileDataset):
    info = CATALOG["eurosat"]

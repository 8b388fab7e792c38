"""Stanford Cars (Krause et al., 2013) with CoOp's split: 196 classes, 6509/1635/8041 images."""
from dassl.data.datasets import DATASET_REGISTRY

from ..catalog import CATALOG
from .common import SplitFileDataset


@DATASET_REGISTRY.register()
class StanfordCars(SplitFileDataset):
    info = CATALOG["stanford_cars"]

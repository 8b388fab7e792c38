"""Stanford Cars (Krause et al., 2013) with CoOp's split: 196 classes, 6509/1635/8041 images.

The split file's image paths are relative to the dataset folder (``cars_train/00001.jpg``),
not to an image folder as in the other datasets.

The split file is read by ``common.SplitFileDataset``; ``python -m datasets.prepare --build-split``
builds a missing one without Dassl (``datasets/prepare/builders.py``).
"""
from dassl.data.datasets import DATASET_REGISTRY

from ..catalog import CATALOG
from .common import SplitFileDataset


@DATASET_REGISTRY.register()
class StanfordCars(SplitFileDataset):
    info = CATALOG["stanford_cars"]

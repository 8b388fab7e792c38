"""EuroSAT RGB (Helber et al., 2019) with CoOp's split: 10 classes, 13500/5400/8100 images."""
import os

from dassl.data.datasets import DATASET_REGISTRY

from .catalog import CATALOG
from .common import SplitFileDataset
from .split_builders import split_class_folders

# CoOp's class names for the folders (prompt-friendly words). The split file stores them.
NEW_CNAMES = {
    "AnnualCrop": "Annual Crop Land",
    "Forest": "Forest",
    "HerbaceousVegetation": "Herbaceous Vegetation Land",
    "Highway": "Highway or Road",
    "Industrial": "Industrial Buildings",
    "Pasture": "Pasture Land",
    "PermanentCrop": "Permanent Crop Land",
    "Residential": "Residential Buildings",
    "River": "River",
    "SeaLake": "Sea or Lake",
}


@DATASET_REGISTRY.register()
class EuroSAT(SplitFileDataset):
    info = CATALOG["eurosat"]


def build_split(dataset_dir, rng):
    """CoOp's split from the class folders (50/20/30 % per class), with the names of NEW_CNAMES."""
    return split_class_folders(os.path.join(dataset_dir, EuroSAT.info.image_dir), rng, new_cnames=NEW_CNAMES)

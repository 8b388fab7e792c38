"""Caltech101 (Fei-Fei et al., 2004) with CoOp's split: 100 classes, 4128/1649/2465 images."""
import os

from dassl.data.datasets import DATASET_REGISTRY

from .catalog import CATALOG
from .common import SplitFileDataset
from .split_builders import split_class_folders

INFO = CATALOG["caltech101"]
IMAGE_DIRNAME = INFO.image_dir
SPLIT_FILENAME = INFO.split_file
SPLIT_GDRIVE_ID = INFO.split_gdrive_id
LAYOUT = INFO.layout

# CoOp's split keeps 100 of the 102 folders (background clutter and a second copy of the faces
# are not classes) ...
IGNORED = ["BACKGROUND_Google", "Faces_easy"]
# ... and stores these folders under new class names. The split file already holds the renamed
# names, so reading it needs neither table; building a split does.
NEW_CNAMES = {
    "airplanes": "airplane",
    "Faces": "face",
    "Leopards": "leopard",
    "Motorbikes": "motorbike",
}


@DATASET_REGISTRY.register()
class Caltech101(SplitFileDataset):
    info = INFO


def build_split(dataset_dir, rng):
    """CoOp's split from the class folders (50/20/30 % per class), see datasets/split_builders.py."""
    return split_class_folders(os.path.join(dataset_dir, IMAGE_DIRNAME), rng, ignored=IGNORED, new_cnames=NEW_CNAMES)

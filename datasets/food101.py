"""Food-101 (Bossard et al., 2014) with CoOp's split: 101 classes, 50500/20200/30300 images."""
import os

from dassl.data.datasets import DATASET_REGISTRY

from .catalog import CATALOG
from .common import SplitFileDataset
from .split_builders import split_class_folders


@DATASET_REGISTRY.register()
class Food101(SplitFileDataset):
    info = CATALOG["food101"]


def build_split(dataset_dir, rng):
    """CoOp's split from the class folders (50/20/30 % per class); class names are the folder names."""
    return split_class_folders(os.path.join(dataset_dir, Food101.info.image_dir), rng)

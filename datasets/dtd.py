"""Describable Textures (Cimpoi et al., 2014) with CoOp's split: 47 classes, 2820/1128/1692 images."""
import os

from dassl.data.datasets import DATASET_REGISTRY

from .catalog import CATALOG
from .common import SplitFileDataset
from .split_builders import split_class_folders


@DATASET_REGISTRY.register()
class DescribableTextures(SplitFileDataset):
    info = CATALOG["dtd"]


def build_split(dataset_dir, rng):
    """CoOp's split from the class folders (50/20/30 % per class); class names are the folder names."""
    return split_class_folders(os.path.join(dataset_dir, DescribableTextures.info.image_dir), rng)

"""Oxford Flowers 102 (Nilsback & Zisserman, 2008) with CoOp's split: 102 classes, 4093/1633/2463 images."""
import os
from collections import defaultdict

from dassl.data.datasets import DATASET_REGISTRY

from .catalog import CATALOG
from .common import SplitFileDataset
from .errors import DatasetNotFoundError, InvalidDatasetError
from .split_builders import deal_per_class
from .split_file import read_json_file


@DATASET_REGISTRY.register()
class OxfordFlowers(SplitFileDataset):
    info = CATALOG["oxford_flowers"]


def build_split(dataset_dir, rng):
    """CoOp's split: per label of imagelabels.mat, 50/20/30 % train/val/test; names from cat_to_name.json."""
    label_file = os.path.join(dataset_dir, "imagelabels.mat")
    names_file = os.path.join(dataset_dir, "cat_to_name.json")
    for path in (label_file, names_file):
        if not os.path.isfile(path):
            raise DatasetNotFoundError(f"Oxford Flowers file not found: {path}.")
    from scipy.io import loadmat  # only building a split needs scipy

    labels = loadmat(label_file)["labels"][0]
    names = read_json_file(names_file, what="Class-name file")
    by_label = defaultdict(list)  # 1-based label -> image paths, labels in first-appearance order
    for index, label in enumerate(labels):
        by_label[int(label)].append(os.path.join(dataset_dir, "jpg", f"image_{index + 1:05d}.jpg"))
    groups = []
    for label, impaths in by_label.items():
        if str(label) not in names:
            raise InvalidDatasetError(f"{names_file} has no name for label {label}.")
        groups.append((label - 1, names[str(label)], impaths))
    return deal_per_class(groups, rng, source=label_file)

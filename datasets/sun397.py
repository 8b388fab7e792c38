"""SUN397 (Xiao et al., 2010) with CoOp's split: 397 classes, 15880/3970/19850 images."""
import os

from dassl.data.datasets import DATASET_REGISTRY

from .catalog import CATALOG
from .common import SplitFileDataset
from .errors import InvalidDatasetError
from .split_builders import read_text_lines, split_trainval
from .split_file import checked_datum


@DATASET_REGISTRY.register()
class SUN397(SplitFileDataset):
    info = CATALOG["sun397"]


def sun_classname(category):
    """CoOp's class name of a SUN category path: first-letter folder dropped, parts reversed.

    "a/apartment_building/outdoor" -> "outdoor apartment_building", "a/abbey" -> "abbey".
    """
    return " ".join(category.split("/")[1:][::-1])


def read_partition(dataset_dir, list_name, cname2lab):
    path = os.path.join(dataset_dir, list_name)
    items = []
    for number, line in enumerate(read_text_lines(path, "SUN397 partition file"), start=1):
        rel = line.lstrip("/")
        category = os.path.dirname(rel)
        if category not in cname2lab:
            raise InvalidDatasetError(f"{path}:{number}: category {category!r} is not in ClassName.txt.")
        impath = os.path.join(dataset_dir, "SUN397", rel)
        items.append(checked_datum(impath, cname2lab[category], sun_classname(category), path))
    return items


def build_split(dataset_dir, rng):
    """CoOp's split: partition 01's training list split 80/20 per class into train/val, its test list as test."""
    categories = [line.lstrip("/") for line in read_text_lines(os.path.join(dataset_dir, "ClassName.txt"), "SUN397 ClassName.txt")]
    cname2lab = {c: i for i, c in enumerate(categories)}
    trainval = read_partition(dataset_dir, "Training_01.txt", cname2lab)
    test = read_partition(dataset_dir, "Testing_01.txt", cname2lab)
    train, val = split_trainval(trainval, rng)
    return train, val, test

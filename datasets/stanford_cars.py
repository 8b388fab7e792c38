"""Stanford Cars (Krause et al., 2013) with CoOp's split: 196 classes, 6509/1635/8041 images.

The split file's image paths are relative to the dataset folder (``cars_train/00001.jpg``),
not to an image folder as in the other datasets.
"""
import os

from dassl.data.datasets import DATASET_REGISTRY

from .catalog import CATALOG
from .common import SplitFileDataset
from .errors import DatasetNotFoundError
from .split_builders import split_trainval
from .split_file import checked_datum


@DATASET_REGISTRY.register()
class StanfordCars(SplitFileDataset):
    info = CATALOG["stanford_cars"]


def year_first(classname):
    """CoOp's class name: the model year moves to the front ("AM General Hummer SUV 2000" -> "2000 AM ...")."""
    words = classname.split(" ")
    return " ".join([words[-1]] + words[:-1])


def _loadmat(path):
    if not os.path.isfile(path):
        raise DatasetNotFoundError(f"Stanford Cars annotation file not found: {path}.")
    from scipy.io import loadmat  # only building a split needs scipy

    return loadmat(path)


def read_annotations(dataset_dir, image_folder, anno_file, meta_file):
    """Datums of one .mat annotation file (fields ``fname`` and 1-based ``class``)."""
    annotations = _loadmat(anno_file)["annotations"][0]
    class_names = _loadmat(meta_file)["class_names"][0]
    items = []
    for record in annotations:
        label = int(record["class"][0, 0]) - 1
        impath = os.path.join(dataset_dir, image_folder, str(record["fname"][0]))
        items.append(checked_datum(impath, label, year_first(str(class_names[label][0])), anno_file))
    return items


def build_split(dataset_dir, rng):
    """CoOp's split: the training annotations split 80/20 per class into train/val, the test set as test."""
    meta = os.path.join(dataset_dir, "devkit", "cars_meta.mat")
    trainval = read_annotations(dataset_dir, "cars_train", os.path.join(dataset_dir, "devkit", "cars_train_annos.mat"), meta)
    test = read_annotations(dataset_dir, "cars_test", os.path.join(dataset_dir, "cars_test_annos_withlabels.mat"), meta)
    train, val = split_trainval(trainval, rng)
    return train, val, test

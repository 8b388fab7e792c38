"""Oxford-IIIT Pets (Parkhi et al., 2012) with CoOp's split: 37 breeds, 2944/736/3669 images."""
import os

from dassl.data.datasets import DATASET_REGISTRY

from .catalog import CATALOG
from .common import SplitFileDataset
from .errors import InvalidDatasetError
from .split_builders import read_text_lines, split_trainval
from .split_file import checked_datum


@DATASET_REGISTRY.register()
class OxfordPets(SplitFileDataset):
    info = CATALOG["oxford_pets"]


def breed_name(image_name):
    """CoOp's class name of a Pets image: the breed part of the file name, lower-cased.

    "Abyssinian_100" -> "abyssinian", "american_pit_bull_terrier_12" -> "american_pit_bull_terrier".
    """
    return "_".join(image_name.split("_")[:-1]).lower()


def read_annotation_list(dataset_dir, list_name):
    """Datums of ``annotations/<list_name>`` (lines "Abyssinian_100 1 1 1": image, class id, species, breed id)."""
    path = os.path.join(dataset_dir, "annotations", list_name)
    items = []
    for number, line in enumerate(read_text_lines(path, "Pets annotation list"), start=1):
        if line.startswith("#"):
            continue
        fields = line.split()
        if len(fields) != 4:
            raise InvalidDatasetError(f"{path}:{number}: expected 'image class_id species breed_id', got {line!r}.")
        image_name, class_id = fields[0], int(fields[1])
        impath = os.path.join(dataset_dir, "images", image_name + ".jpg")
        items.append(checked_datum(impath, class_id - 1, breed_name(image_name), path))
    return items


def build_split(dataset_dir, rng):
    """CoOp's split: trainval.txt split 80/20 per class into train/val, test.txt as test."""
    trainval = read_annotation_list(dataset_dir, "trainval.txt")
    test = read_annotation_list(dataset_dir, "test.txt")
    train, val = split_trainval(trainval, rng)
    return train, val, test

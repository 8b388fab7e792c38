"""UCF101 middle frames (Soomro et al., 2012) with CoOp's split: 101 actions, 7639/1898/3783 images."""
import os
import re

from dassl.data.datasets import DATASET_REGISTRY

from .catalog import CATALOG
from .common import SplitFileDataset
from .errors import InvalidDatasetError
from .split_builders import read_text_lines, split_trainval
from .split_file import checked_datum


@DATASET_REGISTRY.register()
class UCF101(SplitFileDataset):
    info = CATALOG["ucf101"]


def split_camel_case(action):
    """CoOp's class name (and frame folder) of an action: "ApplyEyeMakeup" -> "Apply_Eye_Makeup"."""
    return "_".join(re.findall("[A-Z][^A-Z]*", action))


def read_video_list(dataset_dir, list_name, cname2lab):
    """Datums of ``ucfTrainTestlist/<list_name>`` (lines "ApplyEyeMakeup/v_ApplyEyeMakeup_g08_c01.avi [label]")."""
    path = os.path.join(dataset_dir, "ucfTrainTestlist", list_name)
    items = []
    for number, line in enumerate(read_text_lines(path, "UCF101 list"), start=1):
        video = line.split(" ")[0]
        action, filename = video.split("/")
        if action not in cname2lab:
            raise InvalidDatasetError(f"{path}:{number}: action {action!r} is not in classInd.txt.")
        classname = split_camel_case(action)
        impath = os.path.join(dataset_dir, "UCF-101-midframes", classname, filename.replace(".avi", ".jpg"))
        items.append(checked_datum(impath, cname2lab[action], classname, path))
    return items


def build_split(dataset_dir, rng):
    """CoOp's split: trainlist01 split 80/20 per class into train/val, testlist01 as test."""
    cname2lab = {}
    for line in read_text_lines(os.path.join(dataset_dir, "ucfTrainTestlist", "classInd.txt"), "UCF101 classInd.txt"):
        label, action = line.split(" ")
        cname2lab[action] = int(label) - 1
    trainval = read_video_list(dataset_dir, "trainlist01.txt", cname2lab)
    test = read_video_list(dataset_dir, "testlist01.txt", cname2lab)
    train, val = split_trainval(trainval, rng)
    return train, val, test

"""Building a CoOp split from a dataset's official files, for ``prepare --build-split`` (no Dassl)."""
import os
import random
import re
from collections import defaultdict

from ..catalog import CATALOG
from ..errors import DatasetNotFoundError, InvalidDatasetError
from ..official_lists import read_text_lines
from ..scan import list_dirs, list_files
from ..split_file import checked_record, read_json_file, write_split


def _require_positive(counts, classname, source):
    if min(counts.values()) <= 0:
        detail = ", ".join(f"{k} {v}" for k, v in counts.items())
        raise InvalidDatasetError(
            f"Class {classname!r} in {source} has too few images to split ({detail}); CoOp's split needs "
            f"at least one image in each part.")


def split_trainval(trainval, rng, p_val=0.2):
    """Split a train+val list per class: round(p_val * n) shuffled images of each class go to val."""
    by_label = defaultdict(list)
    for index, item in enumerate(trainval):
        by_label[item.label].append(index)
    train, val = [], []
    for label, indices in by_label.items():
        n_val = round(len(indices) * p_val)
        _require_positive({"val": n_val}, trainval[indices[0]].classname, "the train+val list")
        rng.shuffle(indices)
        val.extend(trainval[i] for i in indices[:n_val])
        train.extend(trainval[i] for i in indices[n_val:])
    return train, val


def deal_per_class(groups, rng, p_trn=0.5, p_val=0.2, *, source):
    """Shuffle each class's images and deal them into train, val and test."""
    train, val, test = [], [], []
    for label, classname, impaths in groups:
        impaths = list(impaths)
        rng.shuffle(impaths)
        n_train = round(len(impaths) * p_trn)
        n_val = round(len(impaths) * p_val)
        n_test = len(impaths) - n_train - n_val
        _require_positive({"train": n_train, "val": n_val, "test": n_test}, classname, source)
        parts = (impaths[:n_train], impaths[n_train : n_train + n_val], impaths[n_train + n_val :])
        for out, chunk in zip((train, val, test), parts):
            out.extend(checked_record(p, label, classname, source) for p in chunk)
    return train, val, test


def split_class_folders(image_dir, rng, ignored=(), new_cnames=None, p_trn=0.5, p_val=0.2):
    """CoOp's split of a folder-per-class dataset (``DescribableTextures.read_and_split_data``)."""
    folders = [f for f in list_dirs(image_dir) if f not in ignored]
    if not folders:
        raise InvalidDatasetError(f"{image_dir} has no class folders to build a split from.")
    groups = []
    for label, folder in enumerate(folders):
        class_dir = os.path.join(image_dir, folder)
        name = (new_cnames or {}).get(folder, folder)
        groups.append((label, name, [os.path.join(class_dir, f) for f in list_files(class_dir)]))
    return deal_per_class(groups, rng, p_trn, p_val, source=image_dir)


# Caltech101: CoOp's split keeps 100 of the 102 folders (background clutter and a second copy of
# the faces are not classes) and stores four folders under new class names. The split file
# already holds the renamed names, so reading it needs neither table; building a split does.
CALTECH101_IGNORED = ["BACKGROUND_Google", "Faces_easy"]
CALTECH101_NEW_CNAMES = {"airplanes": "airplane", "Faces": "face", "Leopards": "leopard", "Motorbikes": "motorbike"}

# EuroSAT: CoOp's class names for the folders (prompt-friendly words). The split file stores them.
EUROSAT_NEW_CNAMES = {
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


def _class_folders(key, **names):
    """A builder splitting the catalog's image folder of ``key`` by class folder (50/20/30 % per class)."""
    return lambda dataset_dir, rng: split_class_folders(os.path.join(dataset_dir, CATALOG[key].image_dir), rng, **names)


def breed_name(image_name):
    """CoOp's class name of a Pets image: the breed part of the file name, lower-cased."""
    return "_".join(image_name.split("_")[:-1]).lower()


def read_annotation_list(dataset_dir, list_name):
    """Pets image records of ``annotations/<list_name>`` (lines "Abyssinian_100 1 1 1": image, class id, species, breed id)."""
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
        items.append(checked_record(impath, class_id - 1, breed_name(image_name), path))
    return items


def build_oxford_pets(dataset_dir, rng):
    """CoOp's split: trainval.txt split 80/20 per class into train/val, test.txt as test."""
    trainval = read_annotation_list(dataset_dir, "trainval.txt")
    test = read_annotation_list(dataset_dir, "test.txt")
    train, val = split_trainval(trainval, rng)
    return train, val, test


def build_oxford_flowers(dataset_dir, rng):
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


def year_first(classname):
    """CoOp's Stanford Cars class name: the model year moves to the front ("AM General Hummer SUV 2000" -> "2000 AM ...")."""
    words = classname.split(" ")
    return " ".join([words[-1]] + words[:-1])


def _loadmat(path):
    if not os.path.isfile(path):
        raise DatasetNotFoundError(f"Stanford Cars annotation file not found: {path}.")
    from scipy.io import loadmat  # only building a split needs scipy

    return loadmat(path)


def read_annotations(dataset_dir, image_folder, anno_file, meta_file):
    """Stanford Cars image records of one .mat annotation file (fields ``fname`` and 1-based ``class``)."""
    annotations = _loadmat(anno_file)["annotations"][0]
    class_names = _loadmat(meta_file)["class_names"][0]
    items = []
    for record in annotations:
        label = int(record["class"][0, 0]) - 1
        impath = os.path.join(dataset_dir, image_folder, str(record["fname"][0]))
        items.append(checked_record(impath, label, year_first(str(class_names[label][0])), anno_file))
    return items


def build_stanford_cars(dataset_dir, rng):
    """CoOp's split: the training annotations split 80/20 per class into train/val, the test set as test."""
    meta = os.path.join(dataset_dir, "devkit", "cars_meta.mat")
    trainval = read_annotations(dataset_dir, "cars_train", os.path.join(dataset_dir, "devkit", "cars_train_annos.mat"), meta)
    test = read_annotations(dataset_dir, "cars_test", os.path.join(dataset_dir, "cars_test_annos_withlabels.mat"), meta)
    train, val = split_trainval(trainval, rng)
    return train, val, test


def sun_classname(category):
    """CoOp's class name of a SUN category path: first-letter folder dropped, parts reversed."""
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
        items.append(checked_record(impath, cname2lab[category], sun_classname(category), path))
    return items


def build_sun397(dataset_dir, rng):
    """CoOp's split: partition 01's training list split 80/20 per class into train/val, its test list as test."""
    categories = [line.lstrip("/") for line in read_text_lines(os.path.join(dataset_dir, "ClassName.txt"), "SUN397 ClassName.txt")]
    cname2lab = {c: i for i, c in enumerate(categories)}
    trainval = read_partition(dataset_dir, "Training_01.txt", cname2lab)
    test = read_partition(dataset_dir, "Testing_01.txt", cname2lab)
    train, val = split_trainval(trainval, rng)
    return train, val, test


def split_camel_case(action):
    """CoOp's UCF101 class name (and frame folder) of an action: "ApplyEyeMakeup" -> "Apply_Eye_Makeup"."""
    return "_".join(re.findall("[A-Z][^A-Z]*", action))


def read_video_list(dataset_dir, list_name, cname2lab):
    """UCF101 image records of ``ucfTrainTestlist/<list_name>`` (lines "ApplyEyeMakeup/v_ApplyEyeMakeup_g08_c01.avi [label]")."""
    path = os.path.join(dataset_dir, "ucfTrainTestlist", list_name)
    items = []
    for number, line in enumerate(read_text_lines(path, "UCF101 list"), start=1):
        video = line.split(" ")[0]
        action, filename = video.split("/")
        if action not in cname2lab:
            raise InvalidDatasetError(f"{path}:{number}: action {action!r} is not in classInd.txt.")
        classname = split_camel_case(action)
        impath = os.path.join(dataset_dir, "UCF-101-midframes", classname, filename.replace(".avi", ".jpg"))
        items.append(checked_record(impath, cname2lab[action], classname, path))
    return items


def build_ucf101(dataset_dir, rng):
    """CoOp's split: trainlist01 split 80/20 per class into train/val, testlist01 as test."""
    cname2lab = {}
    for line in read_text_lines(os.path.join(dataset_dir, "ucfTrainTestlist", "classInd.txt"), "UCF101 classInd.txt"):
        label, action = line.split(" ")
        cname2lab[action] = int(label) - 1
    trainval = read_video_list(dataset_dir, "trainlist01.txt", cname2lab)
    test = read_video_list(dataset_dir, "testlist01.txt", cname2lab)
    train, val = split_trainval(trainval, rng)
    return train, val, test


# Config name -> builder ``(dataset_dir, rng) -> (train, val, test)``: every catalog entry of kind
# "split" has one (tests/datasets/test_catalog.py).
BUILDERS = {
    "oxford_pets": build_oxford_pets,
    "oxford_flowers": build_oxford_flowers,
    "dtd": _class_folders("dtd"),
    "eurosat": _class_folders("eurosat", new_cnames=EUROSAT_NEW_CNAMES),
    "stanford_cars": build_stanford_cars,
    "food101": _class_folders("food101"),
    "sun397": build_sun397,
    "caltech101": _class_folders("caltech101", ignored=CALTECH101_IGNORED, new_cnames=CALTECH101_NEW_CNAMES),
    "ucf101": build_ucf101,
}


def build_split(info, root, seed):
    """Build and write ``info``'s missing split file from the official annotations (``prepare --build-split``)."""
    builder = BUILDERS.get(info.key)
    if builder is None:
        raise InvalidDatasetError(f"{info.name} has no split file to build (--build-split applies to "
                                  f"{', '.join(BUILDERS)}).")
    dataset_dir = os.path.join(root, info.dataset_dir)
    split_path = os.path.join(dataset_dir, info.split_file)
    print(f"  building {info.split_file} from the official annotations (seed {seed})")
    train, val, test = builder(dataset_dir, random.Random(seed))
    prefix = dataset_dir if info.split_prefix == "dataset_dir" else os.path.join(dataset_dir, info.image_dir)
    write_split(train, val, test, split_path, prefix)
    print(f"  NOTE: a built split is not CoOp's published {info.split_file}; numbers from it are not comparable "
          f"with published ones.")

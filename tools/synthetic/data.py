"""Small synthetic datasets in the real on-disk layouts, for tests and smoke runs."""
import argparse
import colorsys
import inspect
import json
import os
import random

import numpy as np
from PIL import Image

from lamm.files import atomic_write_text

# Real Caltech101 folders (the 100 classes CoOp keeps). The four that CoOp renames come first
# so that even a 4-class dataset exercises the renaming.
CALTECH101_FOLDERS = [
    "airplanes", "Faces", "Leopards", "Motorbikes", "accordion", "anchor", "ant", "barrel",
    "bass", "beaver", "binocular", "bonsai", "brain", "brontosaurus", "buddha", "butterfly",
    "camera", "cannon", "car_side", "ceiling_fan", "cellphone", "chair", "chandelier",
    "cougar_body", "cougar_face", "crab", "crayfish", "crocodile", "crocodile_head", "cup",
    "dalmatian", "dollar_bill", "dolphin", "dragonfly", "electric_guitar", "elephant", "emu",
    "euphonium", "ewer", "ferry", "flamingo", "flamingo_head", "garfield", "gerenuk",
    "gramophone", "grand_piano", "hawksbill", "headphone", "hedgehog", "helicopter", "ibis",
    "inline_skate", "joshua_tree", "kangaroo", "ketch", "lamp", "laptop", "llama", "lobster",
    "lotus", "mandolin", "mayfly", "menorah", "metronome", "minaret", "nautilus", "octopus",
    "okapi", "pagoda", "panda", "pigeon", "pizza", "platypus", "pyramid", "revolver", "rhino",
    "rooster", "saxophone", "schooner", "scissors", "scorpion", "sea_horse", "snoopy",
    "soccer_ball", "stapler", "starfish", "stegosaurus", "stop_sign", "strawberry", "sunflower",
    "tick", "trilobite", "umbrella", "watch", "water_lilly", "wheelchair", "wild_cat",
    "windsor_chair", "wrench", "yin_yang",
]
# The names CoOp stores for renamed folders.
CALTECH101_RENAMED = {
    "airplanes": "airplane",
    "Faces": "face",
    "Leopards": "leopard",
    "Motorbikes": "motorbike",
}
# Folders of the real archive that are not classes in CoOp's split.
CALTECH101_IGNORED = ["BACKGROUND_Google", "Faces_easy"]

# Oxford-IIIT Pets breeds in official class-id order (1..37; cats are capitalised).
PETS_BREEDS = [
    "Abyssinian", "american_bulldog", "american_pit_bull_terrier", "basset_hound", "beagle", "Bengal",
    "Birman", "Bombay", "boxer", "British_Shorthair", "chihuahua", "Egyptian_Mau",
    "english_cocker_spaniel", "english_setter", "german_shorthaired", "great_pyrenees", "havanese",
    "japanese_chin", "keeshond", "leonberger", "Maine_Coon", "miniature_pinscher", "newfoundland",
    "Persian", "pomeranian", "pug", "Ragdoll", "Russian_Blue", "saint_bernard", "samoyed",
    "scottish_terrier", "shiba_inu", "Siamese", "Sphynx", "staffordshire_bull_terrier",
    "wheaten_terrier", "yorkshire_terrier",
]
# Stanford Cars meta names (year last, as in cars_meta.mat) and CoOp's year-first names.
CARS_META_NAMES = [
    "AM General Hummer SUV 2000", "Acura RL Sedan 2012", "Acura TL Sedan 2012", "Acura TL Type-S 2008",
    "Acura TSX Sedan 2012", "Acura Integra Type R 2001",
]
CARS_COOP_NAMES = [
    "2000 AM General Hummer SUV", "2012 Acura RL Sedan", "2012 Acura TL Sedan", "2008 Acura TL Type-S",
    "2012 Acura TSX Sedan", "2001 Acura Integra Type R",
]
# Flowers 102: cat_to_name.json names of labels 1..6.
FLOWERS_NAMES = ["pink primrose", "hard-leaved pocket orchid", "canterbury bells", "sweet pea", "english marigold",
                 "tiger lily"]
FOOD101_CLASSES = ["apple_pie", "baby_back_ribs", "baklava", "beef_carpaccio", "beef_tartare", "beet_salad"]
# FGVC-Aircraft variants (names with spaces and a slash on purpose).
AIRCRAFT_VARIANTS = ["707-320", "A300B4", "Cessna 172", "F/A-18", "DHC-1", "Tu-134"]
# SUN397 categories as in ClassName.txt, and CoOp's names for them.
SUN397_CATEGORIES = [
    "/a/abbey", "/a/apartment_building/outdoor", "/b/bakery/shop", "/c/campsite", "/d/dining_room",
    "/t/temple/east_asia",
]
SUN397_COOP_NAMES = ["abbey", "outdoor apartment_building", "shop bakery", "campsite", "dining_room",
                     "east_asia temple"]
DTD_CATEGORIES = ["banded", "blotchy", "braided", "bubbly", "bumpy", "chequered"]
EUROSAT_FOLDERS = ["AnnualCrop", "Forest", "HerbaceousVegetation", "Highway", "Industrial", "Pasture"]
EUROSAT_COOP_NAMES = ["Annual Crop Land", "Forest", "Herbaceous Vegetation Land", "Highway or Road",
                      "Industrial Buildings", "Pasture Land"]
UCF101_ACTIONS = ["ApplyEyeMakeup", "BabyCrawling", "HandstandPushups", "YoYo", "Archery", "Basketball"]
UCF101_COOP_NAMES = ["Apply_Eye_Makeup", "Baby_Crawling", "Handstand_Pushups", "Yo_Yo", "Archery", "Basketball"]
# The first ImageNet classes (wnid, CoOp/CLIP class name), in sorted wnid order.
IMAGENET_CLASSES = [
    ("n01440764", "tench"), ("n01443537", "goldfish"), ("n01484850", "great white shark"),
    ("n01491361", "tiger shark"), ("n01494475", "hammerhead shark"), ("n01496331", "electric ray"),
    ("n01498041", "stingray"), ("n01514668", "rooster"), ("n01514859", "hen"), ("n01518878", "ostrich"),
]
# Which of those classes the synthetic ImageNet-A / -R hold (they hold 200 of the 1000).
IMAGENET_A_INDICES = [1, 4, 6, 8]
IMAGENET_R_INDICES = [0, 3, 7, 9]


def _class_image(class_index, num_classes, image_size, rng):
    """An RGB uint8 array: the class's colour and stripes, plus noise drawn from ``rng``."""
    hue = class_index / num_classes
    colour = np.array(colorsys.hsv_to_rgb(hue, 0.8, 0.9)) * 255.0
    # Stripe direction and frequency also depend on the class, so neighbouring hues still differ.
    period = 4 + 2 * (class_index % 4)
    yy, xx = np.mgrid[0:image_size, 0:image_size]
    coord = (xx, yy, xx + yy, xx - yy)[(class_index // 4) % 4]
    stripes = ((coord // (period // 2)) % 2).astype(np.float64)[..., None]  # (H, W, 1)
    image = colour * (0.65 + 0.35 * stripes) + rng.normal(0.0, 12.0, size=(image_size, image_size, 3))
    return np.clip(image, 0, 255).astype(np.uint8)


def _save_image(path, class_index, num_classes, image_size, rng):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    Image.fromarray(_class_image(class_index, num_classes, image_size, rng)).save(path, format="JPEG", quality=90)


def _write_json(path, obj):
    """JSON as CoOp's ``write_json`` writes it (indent 4)."""
    atomic_write_text(path, json.dumps(obj, indent=4, separators=(",", ": ")))


def _write_lines(path, lines):
    atomic_write_text(path, "".join(line + "\n" for line in lines))


def _check_counts(num_classes, table, train_per_class=1, val_per_class=0, test_per_class=0):
    if not 1 <= num_classes <= len(table):
        raise ValueError(f"num_classes must be in 1..{len(table)}, got {num_classes}.")
    if train_per_class < 1 or min(val_per_class, test_per_class) < 0:
        raise ValueError("train_per_class must be >= 1 and val/test_per_class >= 0.")


def _dataset_dir(root, name):
    return os.path.join(os.path.abspath(os.path.expanduser(str(root))), name)


def _begin(root, name, seed, table, num_classes, *counts):
    """Check the counts; the dataset folder, the image RNG and the shuffler."""
    _check_counts(num_classes, table, *counts)
    return _dataset_dir(root, name), np.random.default_rng(seed), random.Random(seed)


def _deal(names, shuffler, counts):
    """Shuffle ``names`` and cut them into consecutive parts of the given sizes."""
    names = list(names)
    shuffler.shuffle(names)
    parts, start = [], 0
    for n in counts:
        parts.append(names[start : start + n])
        start += n
    return parts


def make_caltech101(
    root, num_classes=4, train_per_class=8, val_per_class=4, test_per_class=4, image_size=32, seed=0,
    extra_folders=False,
):
    """Write a synthetic Caltech101 under ``root`` and return its folder ``root/caltech-101``."""
    dataset_dir, rng, shuffler = _begin(root, "caltech-101", seed, CALTECH101_FOLDERS, num_classes,
                                        train_per_class, val_per_class, test_per_class)
    image_dir = os.path.join(dataset_dir, "101_ObjectCategories")
    per_class = train_per_class + val_per_class + test_per_class

    split = {"train": [], "val": [], "test": []}
    for label, folder in enumerate(sorted(CALTECH101_FOLDERS[:num_classes])):
        names = [f"image_{i:04d}.jpg" for i in range(1, per_class + 1)]
        for name in names:
            _save_image(os.path.join(image_dir, folder, name), CALTECH101_FOLDERS.index(folder), num_classes,
                        image_size, rng)
        shuffler.shuffle(names)
        classname = CALTECH101_RENAMED.get(folder, folder)
        bounds = {"train": (0, train_per_class), "val": (train_per_class, train_per_class + val_per_class),
                  "test": (train_per_class + val_per_class, per_class)}
        for key, (start, stop) in bounds.items():
            split[key].extend([f"{folder}/{name}", label, classname] for name in names[start:stop])

    if extra_folders:
        extra_rng = np.random.default_rng(seed + 1)
        for index, folder in enumerate(CALTECH101_IGNORED):
            for i in range(1, 4):
                _save_image(os.path.join(image_dir, folder, f"image_{i:04d}.jpg"), index, 2, image_size, extra_rng)

    _write_json(os.path.join(dataset_dir, "split_zhou_Caltech101.json"), split)
    return dataset_dir


def _folder_dataset(root, dataset_name, image_subdir, folders, coop_names, split_file, file_pattern, *,
                    num_classes, train_per_class, val_per_class, test_per_class, image_size, seed):
    """A folder-per-class dataset with a CoOp split (Food101, DTD, EuroSAT)."""
    dataset_dir, rng, shuffler = _begin(root, dataset_name, seed, folders, num_classes,
                                        train_per_class, val_per_class, test_per_class)
    image_dir = os.path.join(dataset_dir, image_subdir)
    counts = (train_per_class, val_per_class, test_per_class)
    split = {"train": [], "val": [], "test": []}
    order = sorted(range(num_classes), key=lambda i: folders[i])  # labels follow sorted folder names
    for label, index in enumerate(order):
        folder = folders[index]
        names = [file_pattern.format(folder=folder, i=i) for i in range(1, sum(counts) + 1)]
        for name in names:
            _save_image(os.path.join(image_dir, folder, name), index, num_classes, image_size, rng)
        for key, part in zip(("train", "val", "test"), _deal(names, shuffler, counts)):
            split[key].extend([f"{folder}/{name}", label, coop_names[index]] for name in part)
    _write_json(os.path.join(dataset_dir, split_file), split)
    return dataset_dir


def make_food101(root, num_classes=4, train_per_class=8, val_per_class=4, test_per_class=4, image_size=32, seed=0):
    """``root/food-101/images/<class>/<id>.jpg``, ``meta/{classes,train,test}.txt`` and CoOp's split."""
    dataset_dir = _folder_dataset(
        root, "food-101", "images", FOOD101_CLASSES, FOOD101_CLASSES, "split_zhou_Food101.json", "{i:07d}.jpg",
        num_classes=num_classes, train_per_class=train_per_class, val_per_class=val_per_class,
        test_per_class=test_per_class, image_size=image_size, seed=seed,
    )
    classes = sorted(FOOD101_CLASSES[:num_classes])
    n_trainval = train_per_class + val_per_class
    _write_lines(os.path.join(dataset_dir, "meta", "classes.txt"), classes)
    _write_lines(os.path.join(dataset_dir, "meta", "train.txt"),
                 [f"{c}/{i:07d}" for c in classes for i in range(1, n_trainval + 1)])
    _write_lines(os.path.join(dataset_dir, "meta", "test.txt"),
                 [f"{c}/{i:07d}" for c in classes for i in range(n_trainval + 1, n_trainval + test_per_class + 1)])
    return dataset_dir


def make_dtd(root, num_classes=4, train_per_class=8, val_per_class=4, test_per_class=4, image_size=32, seed=0):
    """``root/dtd/images/<category>/<category>_0001.jpg`` and CoOp's split."""
    return _folder_dataset(
        root, "dtd", "images", DTD_CATEGORIES, DTD_CATEGORIES, "split_zhou_DescribableTextures.json",
        "{folder}_{i:04d}.jpg", num_classes=num_classes, train_per_class=train_per_class,
        val_per_class=val_per_class, test_per_class=test_per_class, image_size=image_size, seed=seed,
    )


def make_eurosat(root, num_classes=4, train_per_class=8, val_per_class=4, test_per_class=4, image_size=32, seed=0):
    """``root/eurosat/2750/<Class>/<Class>_1.jpg`` and CoOp's split with its renamed classes."""
    return _folder_dataset(
        root, "eurosat", "2750", EUROSAT_FOLDERS, EUROSAT_COOP_NAMES, "split_zhou_EuroSAT.json", "{folder}_{i}.jpg",
        num_classes=num_classes, train_per_class=train_per_class, val_per_class=val_per_class,
        test_per_class=test_per_class, image_size=image_size, seed=seed,
    )


def make_oxford_pets(root, num_classes=4, train_per_class=8, val_per_class=4, test_per_class=4, image_size=32,
                     seed=0):
    """``root/oxford_pets/images/<Breed>_<n>.jpg``, ``annotations/{trainval,test,list}.txt`` and CoOp's split."""
    dataset_dir, rng, shuffler = _begin(root, "oxford_pets", seed, PETS_BREEDS, num_classes,
                                        train_per_class, val_per_class, test_per_class)
    split = {"train": [], "val": [], "test": []}
    trainval_lines, test_lines = [], []
    species_ids = {1: 0, 2: 0}
    for label, breed in enumerate(PETS_BREEDS[:num_classes]):
        species = 1 if breed[0].isupper() else 2
        species_ids[species] += 1
        names = [f"{breed}_{i}" for i in range(1, train_per_class + val_per_class + test_per_class + 1)]
        for name in names:
            _save_image(os.path.join(dataset_dir, "images", name + ".jpg"), label, num_classes, image_size, rng)
        n_trainval = train_per_class + val_per_class
        for name in names[:n_trainval]:
            trainval_lines.append(f"{name} {label + 1} {species} {species_ids[species]}")
        for name in names[n_trainval:]:
            test_lines.append(f"{name} {label + 1} {species} {species_ids[species]}")
        train, val = _deal(names[:n_trainval], shuffler, (train_per_class, val_per_class))
        for key, part in (("train", train), ("val", val), ("test", names[n_trainval:])):
            split[key].extend([f"{name}.jpg", label, breed.lower()] for name in part)
    annotations = os.path.join(dataset_dir, "annotations")
    _write_lines(os.path.join(annotations, "trainval.txt"), trainval_lines)
    _write_lines(os.path.join(annotations, "test.txt"), test_lines)
    _write_lines(os.path.join(annotations, "list.txt"),
                 ["#Image CLASS-ID SPECIES BREED ID", "#ID: 1:37 Class ids"] + trainval_lines + test_lines)
    _write_json(os.path.join(dataset_dir, "split_zhou_OxfordPets.json"), split)
    return dataset_dir


def _cars_annotations(fnames, labels):
    """The ``annotations`` struct array of Stanford Cars' .mat files (1-based ``class``)."""
    fields = ["bbox_x1", "bbox_y1", "bbox_x2", "bbox_y2", "class", "fname"]
    array = np.zeros((1, len(fnames)), dtype=[(f, "O") for f in fields])
    for i, (fname, label) in enumerate(zip(fnames, labels)):
        box = [np.array([[v]], dtype=np.uint16) for v in (1, 1, 30, 30)]
        array[0, i] = (*box, np.array([[label + 1]], dtype=np.uint8), np.array([fname]))
    return array


def make_stanford_cars(root, num_classes=4, train_per_class=8, val_per_class=4, test_per_class=4, image_size=32,
                       seed=0):
    """``root/stanford_cars/{cars_train,cars_test}/%05d.jpg``, the devkit .mat files and CoOp's split."""
    from scipy.io import savemat

    dataset_dir, rng, shuffler = _begin(root, "stanford_cars", seed, CARS_META_NAMES, num_classes,
                                        train_per_class, val_per_class, test_per_class)
    n_trainval = train_per_class + val_per_class
    split = {"train": [], "val": [], "test": []}
    annos = {}
    for folder, per_class in (("cars_train", n_trainval), ("cars_test", test_per_class)):
        labels = [label for label in range(num_classes) for _ in range(per_class)]
        shuffler.shuffle(labels)
        fnames = [f"{i:05d}.jpg" for i in range(1, len(labels) + 1)]
        for fname, label in zip(fnames, labels):
            _save_image(os.path.join(dataset_dir, folder, fname), label, num_classes, image_size, rng)
        annos[folder] = (fnames, labels)
    for label in range(num_classes):
        fnames, labels = annos["cars_train"]
        mine = [f for f, y in zip(fnames, labels) if y == label]
        train, val = _deal(mine, shuffler, (train_per_class, val_per_class))
        test = [f for f, y in zip(*annos["cars_test"]) if y == label]
        for key, part, folder in (("train", train, "cars_train"), ("val", val, "cars_train"),
                                  ("test", test, "cars_test")):
            split[key].extend([f"{folder}/{f}", label, CARS_COOP_NAMES[label]] for f in part)
    names = np.empty((1, num_classes), dtype=object)
    for i in range(num_classes):
        names[0, i] = np.array([CARS_META_NAMES[i]])
    os.makedirs(os.path.join(dataset_dir, "devkit"), exist_ok=True)
    savemat(os.path.join(dataset_dir, "devkit", "cars_meta.mat"), {"class_names": names})
    savemat(os.path.join(dataset_dir, "devkit", "cars_train_annos.mat"),
            {"annotations": _cars_annotations(*annos["cars_train"])})
    savemat(os.path.join(dataset_dir, "cars_test_annos_withlabels.mat"),
            {"annotations": _cars_annotations(*annos["cars_test"])})
    _write_json(os.path.join(dataset_dir, "split_zhou_StanfordCars.json"), split)
    return dataset_dir


def make_oxford_flowers(root, num_classes=4, train_per_class=8, val_per_class=4, test_per_class=4, image_size=32,
                        seed=0):
    """``root/oxford_flowers/jpg/image_%05d.jpg``, ``imagelabels.mat``, ``cat_to_name.json`` and CoOp's split."""
    from scipy.io import savemat

    dataset_dir, rng, shuffler = _begin(root, "oxford_flowers", seed, FLOWERS_NAMES, num_classes,
                                        train_per_class, val_per_class, test_per_class)
    counts = (train_per_class, val_per_class, test_per_class)
    labels = [label for label in range(num_classes) for _ in range(sum(counts))]
    shuffler.shuffle(labels)
    fnames = [f"image_{i:05d}.jpg" for i in range(1, len(labels) + 1)]
    for fname, label in zip(fnames, labels):
        _save_image(os.path.join(dataset_dir, "jpg", fname), label, num_classes, image_size, rng)
    split = {"train": [], "val": [], "test": []}
    for label in range(num_classes):
        mine = [f for f, y in zip(fnames, labels) if y == label]
        for key, part in zip(("train", "val", "test"), _deal(mine, shuffler, counts)):
            split[key].extend([f, label, FLOWERS_NAMES[label]] for f in part)
    savemat(os.path.join(dataset_dir, "imagelabels.mat"), {"labels": np.array([[y + 1 for y in labels]], dtype=np.uint8)})
    _write_json(os.path.join(dataset_dir, "cat_to_name.json"),
                {str(label + 1): FLOWERS_NAMES[label] for label in range(num_classes)})
    _write_json(os.path.join(dataset_dir, "split_zhou_OxfordFlowers.json"), split)
    return dataset_dir


def make_fgvc_aircraft(root, num_classes=4, train_per_class=8, val_per_class=4, test_per_class=4, image_size=32,
                       seed=0):
    """``root/fgvc_aircraft/images/%07d.jpg``, ``variants.txt`` and ``images_variant_{train,val,test}.txt``."""
    dataset_dir, rng, shuffler = _begin(root, "fgvc_aircraft", seed, AIRCRAFT_VARIANTS, num_classes,
                                        train_per_class, val_per_class, test_per_class)
    next_id = 1000000
    for key, per_class in (("train", train_per_class), ("val", val_per_class), ("test", test_per_class)):
        labels = [label for label in range(num_classes) for _ in range(per_class)]
        shuffler.shuffle(labels)
        lines = []
        for label in labels:
            next_id += 7
            _save_image(os.path.join(dataset_dir, "images", f"{next_id:07d}.jpg"), label, num_classes, image_size, rng)
            lines.append(f"{next_id:07d} {AIRCRAFT_VARIANTS[label]}")
        _write_lines(os.path.join(dataset_dir, f"images_variant_{key}.txt"), lines)
    _write_lines(os.path.join(dataset_dir, "variants.txt"), AIRCRAFT_VARIANTS[:num_classes])
    return dataset_dir


def make_sun397(root, num_classes=4, train_per_class=8, val_per_class=4, test_per_class=4, image_size=32, seed=0):
    """``root/sun397/SUN397/<l>/<category>/sun_*.jpg``, ``ClassName.txt``, partition 01 and CoOp's split."""
    dataset_dir, rng, shuffler = _begin(root, "sun397", seed, SUN397_CATEGORIES, num_classes,
                                        train_per_class, val_per_class, test_per_class)
    split = {"train": [], "val": [], "test": []}
    training, testing = [], []
    letters = "abcdefghijklmnopqrstuvwxyz"
    for label, category in enumerate(SUN397_CATEGORIES[:num_classes]):
        rel = category.lstrip("/")
        names = ["sun_" + "".join(shuffler.choice(letters) for _ in range(16)) + ".jpg"
                 for _ in range(train_per_class + val_per_class + test_per_class)]
        for name in names:
            _save_image(os.path.join(dataset_dir, "SUN397", rel, name), label, num_classes, image_size, rng)
        n_trainval = train_per_class + val_per_class
        training += [f"{category}/{name}" for name in names[:n_trainval]]
        testing += [f"{category}/{name}" for name in names[n_trainval:]]
        train, val = _deal(names[:n_trainval], shuffler, (train_per_class, val_per_class))
        for key, part in (("train", train), ("val", val), ("test", names[n_trainval:])):
            split[key].extend([f"{rel}/{name}", label, SUN397_COOP_NAMES[label]] for name in part)
    _write_lines(os.path.join(dataset_dir, "ClassName.txt"), SUN397_CATEGORIES[:num_classes])
    _write_lines(os.path.join(dataset_dir, "Training_01.txt"), training)
    _write_lines(os.path.join(dataset_dir, "Testing_01.txt"), testing)
    _write_json(os.path.join(dataset_dir, "split_zhou_SUN397.json"), split)
    return dataset_dir


def make_ucf101(root, num_classes=4, train_per_class=8, val_per_class=4, test_per_class=4, image_size=32, seed=0):
    """``root/ucf101/UCF-101-midframes/<Action_Words>/v_<Action>_gXX_cYY.jpg``, ``ucfTrainTestlist/`` and CoOp's split."""
    dataset_dir, rng, shuffler = _begin(root, "ucf101", seed, UCF101_ACTIONS, num_classes,
                                        train_per_class, val_per_class, test_per_class)
    split = {"train": [], "val": [], "test": []}
    trainlist, testlist = [], []
    for label, action in enumerate(UCF101_ACTIONS[:num_classes]):
        folder = UCF101_COOP_NAMES[label]
        n_trainval = train_per_class + val_per_class
        # Split 1 tests on groups 1-7 and trains on groups 8-25.
        trainval = [f"v_{action}_g{8 + i // 4:02d}_c{1 + i % 4:02d}" for i in range(n_trainval)]
        test = [f"v_{action}_g{1 + i // 4:02d}_c{1 + i % 4:02d}" for i in range(test_per_class)]
        for name in trainval + test:
            _save_image(os.path.join(dataset_dir, "UCF-101-midframes", folder, name + ".jpg"), label, num_classes,
                        image_size, rng)
        trainlist += [f"{action}/{name}.avi {label + 1}" for name in trainval]
        testlist += [f"{action}/{name}.avi" for name in test]
        train, val = _deal(trainval, shuffler, (train_per_class, val_per_class))
        for key, part in (("train", train), ("val", val), ("test", test)):
            split[key].extend([f"{folder}/{name}.jpg", label, folder] for name in part)
    lists = os.path.join(dataset_dir, "ucfTrainTestlist")
    _write_lines(os.path.join(lists, "classInd.txt"), [f"{i + 1} {a}" for i, a in enumerate(UCF101_ACTIONS[:num_classes])])
    _write_lines(os.path.join(lists, "trainlist01.txt"), trainlist)
    _write_lines(os.path.join(lists, "testlist01.txt"), testlist)
    _write_json(os.path.join(dataset_dir, "split_zhou_UCF101.json"), split)
    return dataset_dir


def _write_classnames(path, classes):
    _write_lines(path, [f"{wnid} {name}" for wnid, name in classes])


def make_imagenet(root, num_classes=4, train_per_class=8, val_per_class=3, image_size=32, seed=0, flat_val=False):
    """``root/imagenet/images/{train,val}/<wnid>/*.JPEG`` and ``classnames.txt``."""
    _check_counts(num_classes, IMAGENET_CLASSES, train_per_class, val_per_class)
    rng = np.random.default_rng(seed)
    dataset_dir = _dataset_dir(root, "imagenet")
    classes = IMAGENET_CLASSES[:num_classes]
    val_number = 0
    solution, valprep = ["ImageId,PredictionString"], []
    for label, (wnid, _) in enumerate(classes):
        for i in range(1, train_per_class + 1):
            _save_image(os.path.join(dataset_dir, "images", "train", wnid, f"{wnid}_{i}.JPEG"), label, num_classes,
                        image_size, rng)
        for _ in range(val_per_class):
            val_number += 1
            name = f"ILSVRC2012_val_{val_number:08d}"
            folder = os.path.join(dataset_dir, "images", "val", "" if flat_val else wnid)
            _save_image(os.path.join(folder, name + ".JPEG"), label, num_classes, image_size, rng)
            solution.append(f"{name},{wnid} 1 2 30 30")
            valprep.append(f"mv {name}.JPEG {wnid}/")
    os.makedirs(os.path.join(dataset_dir, "images", "val"), exist_ok=True)
    _write_classnames(os.path.join(dataset_dir, "classnames.txt"), classes)
    if flat_val:
        _write_lines(os.path.join(os.path.dirname(dataset_dir), "LOC_val_solution.csv"), solution)
        _write_lines(os.path.join(os.path.dirname(dataset_dir), "valprep.sh"),
                     [f"mkdir -p {w}" for w, _ in classes] + valprep)
    return dataset_dir


def _imagenet_test_set(root, dataset_name, image_subdir, class_indices, folder_name, file_pattern, *,
                       per_class, image_size, seed, readme=False, all_classes=None):
    rng = np.random.default_rng(seed)
    dataset_dir = _dataset_dir(root, dataset_name)
    for label, index in enumerate(class_indices):
        folder = folder_name(label, IMAGENET_CLASSES[index][0])
        for i in range(per_class):
            _save_image(os.path.join(dataset_dir, image_subdir, folder, file_pattern.format(i=i, label=label)),
                        index, len(IMAGENET_CLASSES), image_size, rng)
    if readme:
        atomic_write_text(os.path.join(dataset_dir, image_subdir, "README.txt"), "Synthetic stand-in.\n")
    _write_classnames(os.path.join(dataset_dir, "classnames.txt"), all_classes or IMAGENET_CLASSES)
    return dataset_dir


def make_imagenetv2(root, num_classes=4, test_per_class=3, image_size=32, seed=0):
    """``root/imagenetv2/imagenetv2-matched-frequency-format-val/<i>/*.jpeg`` and ``classnames.txt``."""
    _check_counts(num_classes, IMAGENET_CLASSES)
    return _imagenet_test_set(
        root, "imagenetv2", "imagenetv2-matched-frequency-format-val", range(num_classes),
        lambda label, wnid: str(label), "{i:040x}.jpeg", per_class=test_per_class, image_size=image_size,
        seed=seed, all_classes=IMAGENET_CLASSES[:num_classes],
    )


def make_imagenet_sketch(root, num_classes=4, test_per_class=3, image_size=32, seed=0):
    """``root/imagenet-sketch/images/<wnid>/sketch_<i>.JPEG`` and ``classnames.txt`` (first classes)."""
    _check_counts(num_classes, IMAGENET_CLASSES)
    return _imagenet_test_set(
        root, "imagenet-sketch", "images", range(num_classes), lambda label, wnid: wnid, "sketch_{i}.JPEG",
        per_class=test_per_class, image_size=image_size, seed=seed, all_classes=IMAGENET_CLASSES[:num_classes],
    )


def make_imagenet_a(root, test_per_class=3, image_size=32, seed=0):
    """``root/imagenet-adversarial/imagenet-a/<wnid>/*.jpg`` (+ README.txt) for ``IMAGENET_A_INDICES``."""
    return _imagenet_test_set(
        root, "imagenet-adversarial", "imagenet-a", IMAGENET_A_INDICES, lambda label, wnid: wnid,
        "{i:07x}{label}.jpg", per_class=test_per_class, image_size=image_size, seed=seed, readme=True,
    )


def make_imagenet_r(root, test_per_class=3, image_size=32, seed=0):
    """``root/imagenet-rendition/imagenet-r/<wnid>/art_<i>.jpg`` (+ README.txt) for ``IMAGENET_R_INDICES``."""
    return _imagenet_test_set(
        root, "imagenet-rendition", "imagenet-r", IMAGENET_R_INDICES, lambda label, wnid: wnid, "art_{i}.jpg",
        per_class=test_per_class, image_size=image_size, seed=seed, readme=True,
    )


MAKERS = {
    "caltech101": make_caltech101,
    "oxford_pets": make_oxford_pets,
    "stanford_cars": make_stanford_cars,
    "oxford_flowers": make_oxford_flowers,
    "food101": make_food101,
    "fgvc_aircraft": make_fgvc_aircraft,
    "sun397": make_sun397,
    "dtd": make_dtd,
    "eurosat": make_eurosat,
    "ucf101": make_ucf101,
    "imagenet": make_imagenet,
    "imagenetv2": make_imagenetv2,
    "imagenet_sketch": make_imagenet_sketch,
    "imagenet_a": make_imagenet_a,
    "imagenet_r": make_imagenet_r,
}


def make(name, root, **options):
    """Call ``MAKERS[name]`` with the options it accepts (the others are ignored)."""
    maker = MAKERS[name]
    accepted = inspect.signature(maker).parameters
    return maker(root, **{k: v for k, v in options.items() if k in accepted and v is not None})


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("dataset", choices=sorted(MAKERS) + ["all"])
    parser.add_argument("--root", required=True, help="folder to write into (use it as --root / $DATA)")
    parser.add_argument("--num-classes", type=int, default=None)
    parser.add_argument("--train-per-class", type=int, default=None)
    parser.add_argument("--val-per-class", type=int, default=None)
    parser.add_argument("--test-per-class", type=int, default=None)
    parser.add_argument("--image-size", type=int, default=32)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    names = sorted(MAKERS) if args.dataset == "all" else [args.dataset]
    options = {k: getattr(args, k) for k in ("num_classes", "train_per_class", "val_per_class", "test_per_class",
                                             "image_size", "seed")}
    for name in names:
        print(make(name, args.root, **options))


if __name__ == "__main__":
    main()

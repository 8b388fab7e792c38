"""``prepare --build-split``: CoOp's split built from each dataset's official files.

The expected splits are derived here from the fixtures' official files with CoOp's procedure
as documented (per class in first-appearance order: shuffle, then round(0.2 n) to val; or
per sorted class folder: shuffle, then round(0.5 n) train, round(0.2 n) val, the rest test),
with ``random.Random(seed)`` as the generator. The class names must come out with CoOp's
quirks, the same as in the published split files.
"""
import json
import os
import random
from collections import Counter, defaultdict

import pytest
from dassl.config import get_cfg_default
from dassl.data.datasets import DATASET_REGISTRY

import datasets.readers  # noqa: F401  (registers the readers)
from datasets.catalog import CATALOG
from datasets.prepare.builders import build_split
from tools.synthetic import data as synthetic_data

TRAIN, VAL, TEST = 8, 4, 4
# Class names of labels 0..3 as CoOp stores them.
NAMES = {
    "caltech101": ["face", "leopard", "motorbike", "airplane"],
    "oxford_pets": ["abyssinian", "american_bulldog", "american_pit_bull_terrier", "basset_hound"],
    "stanford_cars": ["2000 AM General Hummer SUV", "2012 Acura RL Sedan", "2012 Acura TL Sedan",
                      "2008 Acura TL Type-S"],
    "oxford_flowers": ["pink primrose", "hard-leaved pocket orchid", "canterbury bells", "sweet pea"],
    "food101": ["apple_pie", "baby_back_ribs", "baklava", "beef_carpaccio"],
    "sun397": ["abbey", "outdoor apartment_building", "shop bakery", "campsite"],
    "dtd": ["banded", "blotchy", "braided", "bubbly"],
    "eurosat": ["Annual Crop Land", "Forest", "Herbaceous Vegetation Land", "Highway or Road"],
    "ucf101": ["Apply_Eye_Makeup", "Baby_Crawling", "Handstand_Pushups", "Yo_Yo"],
}
TRAINVAL_KIND = {"oxford_pets", "stanford_cars", "sun397", "ucf101"}


def generate(key, root):
    options = {"extra_folders": True} if key == "caltech101" else {}
    synthetic_data.MAKERS[key](str(root), num_classes=4, train_per_class=TRAIN, val_per_class=VAL,
                               test_per_class=TEST, **options)
    info = CATALOG[key]
    os.remove(os.path.join(str(root), info.dataset_dir, info.split_file))
    return str(root)


def read_split(root, key):
    info = CATALOG[key]
    with open(os.path.join(root, info.dataset_dir, info.split_file)) as f:
        return json.load(f)


# --- the official lists, read independently of the readers ----------------------------------


def official_trainval_and_test(root, key):
    """([(rel path, label)] train+val in file order, [(rel path, label)] test) from the official files."""
    d = os.path.join(root, CATALOG[key].dataset_dir)
    if key == "oxford_pets":
        def read(name):
            with open(os.path.join(d, "annotations", name)) as f:
                return [(w[0] + ".jpg", int(w[1]) - 1) for w in (line.split() for line in f)]
        return read("trainval.txt"), read("test.txt")
    if key == "stanford_cars":
        from scipy.io import loadmat

        def read(folder, path):
            annos = loadmat(path)["annotations"][0]
            return [(f"{folder}/{a['fname'][0]}", int(a["class"][0, 0]) - 1) for a in annos]
        return (read("cars_train", os.path.join(d, "devkit", "cars_train_annos.mat")),
                read("cars_test", os.path.join(d, "cars_test_annos_withlabels.mat")))
    if key == "sun397":
        with open(os.path.join(d, "ClassName.txt")) as f:
            order = [line.strip()[1:] for line in f]

        def read(name):
            with open(os.path.join(d, name)) as f:
                return [(line.strip()[1:], order.index(os.path.dirname(line.strip()[1:]))) for line in f]
        return read("Training_01.txt"), read("Testing_01.txt")
    if key == "ucf101":
        with open(os.path.join(d, "ucfTrainTestlist", "classInd.txt")) as f:
            labels = {a: int(i) - 1 for i, a in (line.split() for line in f)}

        def read(name):
            out = []
            with open(os.path.join(d, "ucfTrainTestlist", name)) as f:
                for line in f:
                    action, video = line.split()[0].split("/")
                    out.append((f"{NAMES['ucf101'][labels[action]]}/{video[:-4]}.jpg", labels[action]))
            return out
        return read("trainlist01.txt"), read("testlist01.txt")
    raise KeyError(key)


def expected_trainval_split(trainval, test, seed):
    rng = random.Random(seed)
    groups = defaultdict(list)
    for index, (_, label) in enumerate(trainval):
        groups[label].append(index)
    train, val = [], []
    for label, indices in groups.items():
        n_val = round(len(indices) * 0.2)
        rng.shuffle(indices)
        val += [trainval[i] for i in indices[:n_val]]
        train += [trainval[i] for i in indices[n_val:]]
    return train, val, test


def expected_folder_split(root, key, seed):
    d = os.path.join(root, CATALOG[key].dataset_dir)
    rng = random.Random(seed)
    if key == "oxford_flowers":
        from scipy.io import loadmat

        groups = defaultdict(list)
        for index, label in enumerate(loadmat(os.path.join(d, "imagelabels.mat"))["labels"][0]):
            groups[int(label) - 1].append(f"image_{index + 1:05d}.jpg")
        ordered = list(groups.items())
    else:
        image_dir = os.path.join(d, CATALOG[key].image_dir)
        folders = sorted(f for f in os.listdir(image_dir) if f not in ("BACKGROUND_Google", "Faces_easy"))
        ordered = [(y, [f"{f}/{n}" for n in sorted(os.listdir(os.path.join(image_dir, f)))])
                   for y, f in enumerate(folders)]
    train, val, test = [], [], []
    for label, images in ordered:
        images = list(images)
        rng.shuffle(images)
        n_train, n_val = round(len(images) * 0.5), round(len(images) * 0.2)
        train += [(p, label) for p in images[:n_train]]
        val += [(p, label) for p in images[n_train : n_train + n_val]]
        test += [(p, label) for p in images[n_train + n_val :]]
    return train, val, test


@pytest.mark.parametrize("key", sorted(NAMES))
def test_built_split_is_coops_procedure_with_coops_names(tmp_path, key):
    root = generate(key, tmp_path)
    build_split(CATALOG[key], root, seed=1)
    split = read_split(root, key)
    if key in TRAINVAL_KIND:
        expected = expected_trainval_split(*official_trainval_and_test(root, key), seed=1)
        counts = (10, 2, 4)  # 12 train+val per class: round(2.4) = 2 to val
    else:
        expected = expected_folder_split(root, key, seed=1)
        counts = (8, 3, 5)  # 16 per class: round(8.0), round(3.2), the rest
    for name, records, want, n in zip(("train", "val", "test"), (split["train"], split["val"], split["test"]),
                                      expected, counts):
        assert [(p, y) for p, y, _ in records] == want, name
        assert Counter(y for _, y, _ in records) == {y: n for y in range(4)}, name
        assert all(c == NAMES[key][y] for _, y, c in records), name
        assert not any(os.path.isabs(p) for p, _, _ in records)


@pytest.mark.parametrize("key", sorted(NAMES))
def test_built_split_is_read_by_the_reader(tmp_path, key):
    root = generate(key, tmp_path)
    build_split(CATALOG[key], root, seed=1)
    cfg = get_cfg_default()
    cfg.DATASET.NAME = CATALOG[key].name
    cfg.DATASET.ROOT = root
    cfg.DATASET.NUM_SHOTS = 2
    random.seed(1)
    ds = DATASET_REGISTRY.get(CATALOG[key].name)(cfg)
    assert ds.classnames == NAMES[key]
    assert Counter(i.label for i in ds.train_x) == {y: 2 for y in range(4)}


def test_same_seed_same_split_other_seed_other_split(tmp_path):
    a = generate("dtd", tmp_path / "a")
    b = generate("dtd", tmp_path / "b")
    c = generate("dtd", tmp_path / "c")
    for root, seed in ((a, 1), (b, 1), (c, 2)):
        build_split(CATALOG["dtd"], root, seed=seed)
    assert read_split(a, "dtd") == read_split(b, "dtd")
    assert read_split(a, "dtd") != read_split(c, "dtd")


def test_build_does_not_touch_the_global_random(tmp_path):
    root = generate("oxford_pets", tmp_path)
    random.seed(7)
    state = random.getstate()
    build_split(CATALOG["oxford_pets"], root, seed=1)
    assert random.getstate() == state


def test_building_needs_the_annotation_files(tmp_path):
    root = generate("ucf101", tmp_path)
    os.remove(os.path.join(root, "ucf101", "ucfTrainTestlist", "classInd.txt"))
    with pytest.raises(FileNotFoundError, match=r"UCF101 classInd\.txt not found: .*classInd\.txt"):
        build_split(CATALOG["ucf101"], root, seed=1)


def test_building_names_a_missing_image(tmp_path):
    root = generate("sun397", tmp_path)
    with open(os.path.join(root, "sun397", "Training_01.txt")) as f:
        first = f.readline().strip()
    os.remove(os.path.join(root, "sun397", "SUN397", first[1:]))
    with pytest.raises(FileNotFoundError, match=rf"Image .*{first} listed in .*Training_01\.txt is missing"):
        build_split(CATALOG["sun397"], root, seed=1)


def test_class_too_small_to_split(tmp_path):
    synthetic_data.make_dtd(str(tmp_path), num_classes=2, train_per_class=1, val_per_class=0, test_per_class=0)
    os.remove(os.path.join(str(tmp_path), "dtd", "split_zhou_DescribableTextures.json"))
    with pytest.raises(ValueError, match=r"Class 'banded' .* too few images to split \(train 0, val 0, test 1\)"):
        build_split(CATALOG["dtd"], str(tmp_path), seed=1)

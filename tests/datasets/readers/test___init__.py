"""Every train/val/test reader (ten CoOp datasets) on a synthetic copy of its real on-disk layout.

Each case names the folders the reader must use and the class names CoOp's split stores for
the first four classes, written out here (not taken from the reader) so that the quirks are
checked: Caltech's renamed folders, Pets' lower-cased breeds, Cars' year first, SUN's
reversed parts, UCF's split CamelCase, EuroSAT's long names, FGVC's names with spaces and
slashes. Few-shot subsets must equal what Dassl's ``generate_fewshot_dataset`` draws after
``random.seed(seed)`` for the same lists, as CoOp's readers do.
"""
import json
import os
import random
import re
from collections import Counter

import pytest
import yaml
from dassl.data.datasets import DATASET_REGISTRY, DatasetBase

import datasets.readers  # noqa: F401  (registers the readers)
from lamm.errors import LammError
from tests.fixtures import REPO_ROOT, dataset_cfg
from tools.synthetic import data as synthetic_data

# key: (registered name, image folder under DATASET.ROOT, what split paths are relative to,
#       the file that lists the images, class names of labels 0..3)
CASES = {
    "caltech101": ("Caltech101", "caltech-101/101_ObjectCategories", "caltech-101/101_ObjectCategories",
                   "caltech-101/split_zhou_Caltech101.json", ["face", "leopard", "motorbike", "airplane"]),
    "oxford_pets": ("OxfordPets", "oxford_pets/images", "oxford_pets/images", "oxford_pets/split_zhou_OxfordPets.json",
                    ["abyssinian", "american_bulldog", "american_pit_bull_terrier", "basset_hound"]),
    "stanford_cars": ("StanfordCars", "stanford_cars", "stanford_cars", "stanford_cars/split_zhou_StanfordCars.json",
                      ["2000 AM General Hummer SUV", "2012 Acura RL Sedan", "2012 Acura TL Sedan",
                       "2008 Acura TL Type-S"]),
    "oxford_flowers": ("OxfordFlowers", "oxford_flowers/jpg", "oxford_flowers/jpg",
                       "oxford_flowers/split_zhou_OxfordFlowers.json",
                       ["pink primrose", "hard-leaved pocket orchid", "canterbury bells", "sweet pea"]),
    "food101": ("Food101", "food-101/images", "food-101/images", "food-101/split_zhou_Food101.json",
                ["apple_pie", "baby_back_ribs", "baklava", "beef_carpaccio"]),
    "fgvc_aircraft": ("FGVCAircraft", "fgvc_aircraft/images", "fgvc_aircraft/images",
                      "fgvc_aircraft/images_variant_train.txt", ["707-320", "A300B4", "Cessna 172", "F/A-18"]),
    "sun397": ("SUN397", "sun397/SUN397", "sun397/SUN397", "sun397/split_zhou_SUN397.json",
               ["abbey", "outdoor apartment_building", "shop bakery", "campsite"]),
    "dtd": ("DescribableTextures", "dtd/images", "dtd/images", "dtd/split_zhou_DescribableTextures.json",
            ["banded", "blotchy", "braided", "bubbly"]),
    "eurosat": ("EuroSAT", "eurosat/2750", "eurosat/2750", "eurosat/split_zhou_EuroSAT.json",
                ["Annual Crop Land", "Forest", "Herbaceous Vegetation Land", "Highway or Road"]),
    "ucf101": ("UCF101", "ucf101/UCF-101-midframes", "ucf101/UCF-101-midframes", "ucf101/split_zhou_UCF101.json",
               ["Apply_Eye_Makeup", "Baby_Crawling", "Handstand_Pushups", "Yo_Yo"]),
}
KEYS = sorted(CASES)
TRAIN, VAL, TEST = 8, 4, 4  # per class, 4 classes


make_cfg = dataset_cfg


def build(key, root, shots=-1, seed=1, subsample=None):
    """Seed ``random`` as train.py does, then build the reader through Dassl's registry."""
    name = CASES[key][0]
    random.seed(seed)
    return DATASET_REGISTRY.get(name)(make_cfg(name, root, shots, seed, subsample))


def generate(key, root):
    synthetic_data.MAKERS[key](str(root), num_classes=4, train_per_class=TRAIN, val_per_class=VAL,
                               test_per_class=TEST)
    return str(root)


def paths(items):
    return [item.impath for item in items]


def per_class(items):
    return Counter(item.label for item in items)


def dassl_draw(full, shots, seed):
    """What CoOp's reader keeps: Dassl's sampler on train (K) then val (min(K, 4)), after seeding."""
    sampler = DatasetBase.__new__(DatasetBase)
    random.seed(seed)
    train = sampler.generate_fewshot_dataset(full.train_x, num_shots=shots)
    val = sampler.generate_fewshot_dataset(full.val, num_shots=min(shots, 4))
    return paths(train), paths(val)


@pytest.fixture(params=KEYS)
def case(request, tmp_path):
    """(key, DATASET.ROOT) of a freshly generated dataset."""
    return request.param, generate(request.param, tmp_path)


@pytest.mark.parametrize("key", KEYS)
def test_registered_under_coops_config(key):
    with open(os.path.join(REPO_ROOT, "configs", "datasets", f"{key}.yaml")) as f:
        name = yaml.safe_load(f)["DATASET"]["NAME"]
    assert name == CASES[key][0]
    reader = DATASET_REGISTRY.get(name)
    assert reader.__name__ == name and issubclass(reader, DatasetBase)


def test_reads_classes_labels_names_and_counts(case):
    key, root = case
    _, image_dir, _, _, classnames = CASES[key]
    ds = build(key, root)

    assert ds.num_classes == 4
    assert ds.classnames == classnames
    assert ds.lab2cname == dict(enumerate(classnames))
    assert (len(ds.train_x), len(ds.val), len(ds.test)) == (4 * TRAIN, 4 * VAL, 4 * TEST)
    assert per_class(ds.train_x) == {y: TRAIN for y in range(4)}
    assert per_class(ds.val) == {y: VAL for y in range(4)}
    assert per_class(ds.test) == {y: TEST for y in range(4)}
    assert ds.train_u is None
    folder = os.path.join(root, image_dir)
    for item in ds.train_x + ds.val + ds.test:
        assert item.classname == classnames[item.label] and item.domain == 0
        assert item.impath.startswith(folder + os.sep) and os.path.isfile(item.impath)
    assert not set(paths(ds.train_x)) & set(paths(ds.test))
    assert ds.dataset_dir == os.path.join(root, CASES[key][1].split("/")[0])


def test_fewshot_subset_is_dassls_draw_for_each_seed(case):
    key, root = case
    full = build(key, root)
    subsets = {}
    for seed in (1, 2, 3):
        ds = build(key, root, shots=2, seed=seed)
        assert per_class(ds.train_x) == {y: 2 for y in range(4)}
        assert per_class(ds.val) == {y: 2 for y in range(4)}
        assert len(ds.test) == 4 * TEST  # the test split is never subsampled
        assert ds.classnames == CASES[key][4]
        assert (paths(ds.train_x), paths(ds.val)) == dassl_draw(full, 2, seed)
        subsets[seed] = paths(ds.train_x)
    assert len({tuple(s) for s in subsets.values()}) > 1  # another seed, another subset


def test_val_keeps_at_most_four_shots(case):
    key, root = case
    ds = build(key, root, shots=8, seed=5)
    assert per_class(ds.train_x) == {y: 8 for y in range(4)}
    assert per_class(ds.val) == {y: 4 for y in range(4)}
    assert (paths(ds.train_x), paths(ds.val)) == dassl_draw(build(key, root), 8, 5)


def test_cache_is_json_and_a_hit_gives_the_same_subset_without_random(case, capsys):
    key, root = case
    first = build(key, root, shots=4, seed=2)
    cache = os.path.join(first.split_fewshot_dir, "shot_4-seed_2.json")
    with open(cache) as f:
        data = json.load(f)
    assert not any(os.path.isabs(p) for p, _, _ in data["train"] + data["val"])
    assert not [n for n in os.listdir(os.path.dirname(cache)) if not n.endswith(".json")]
    capsys.readouterr()

    random.seed(999)
    state = random.getstate()
    name = CASES[key][0]
    again = DATASET_REGISTRY.get(name)(make_cfg(name, root, 4, 2))
    assert random.getstate() == state
    assert f"Loading preprocessed few-shot data from {cache}" in capsys.readouterr().out
    assert paths(again.train_x) == paths(first.train_x) and paths(again.val) == paths(first.val)
    assert [(i.label, i.classname) for i in again.train_x] == [(i.label, i.classname) for i in first.train_x]


@pytest.mark.parametrize("shots", [-1, 2])
def test_base_and_new_classes(case, shots):
    key, root = case
    classnames = CASES[key][4]
    base = build(key, root, shots=shots, subsample="base")
    new = build(key, root, shots=shots, subsample="new")
    per = 2 if shots > 0 else TRAIN
    for ds, names in ((base, classnames[:2]), (new, classnames[2:])):
        assert ds.num_classes == 2 and ds.classnames == names
        assert per_class(ds.train_x) == {0: per, 1: per}
        assert per_class(ds.test) == {0: TEST, 1: TEST}
        for item in ds.train_x + ds.val + ds.test:
            assert item.classname == names[item.label]
    full = build(key, root, shots=shots)
    assert set(paths(base.test)) | set(paths(new.test)) == set(paths(full.test))
    assert paths(base.train_x) == [p for p, y in zip(paths(full.train_x), [i.label for i in full.train_x]) if y < 2]


def test_missing_root_and_folder(case, tmp_path):
    key, root = case
    with pytest.raises(FileNotFoundError, match=r"Dataset root not found: .*nowhere"):
        build(key, tmp_path / "nowhere")
    empty = tmp_path / "empty"
    empty.mkdir()
    folder = CASES[key][1].split("/")[0]
    with pytest.raises(FileNotFoundError, match=rf"{CASES[key][0]} folder not found: .*{folder}(.|\n)*layout"):
        build(key, empty)


def test_missing_split_or_list_file_says_how_to_get_it(case):
    key, root = case
    os.remove(os.path.join(root, CASES[key][3]))
    if key == "fgvc_aircraft":
        match = r"FGVCAircraft file not found: .*images_variant_train\.txt"
    else:
        match = rf"Split file not found: .*{os.path.basename(CASES[key][3])}(.|\n)*python -m datasets\.prepare {key} --root"
    with pytest.raises(FileNotFoundError, match=match):
        build(key, root)


def test_missing_image_is_named(case):
    key, root = case
    ds = build(key, root)
    victim = ds.val[1].impath
    os.remove(victim)
    with pytest.raises(FileNotFoundError, match=rf"1 of the {16 * 4} images .* the first is {victim}"):
        build(key, root)


def test_empty_image_is_named(case):
    key, root = case
    victim = build(key, root).test[0].impath
    open(victim, "w").close()
    with pytest.raises(ValueError, match=rf"empty files \(0 bytes\); the first is {victim}"):
        build(key, root)


def test_too_few_images_for_the_shots(case):
    key, root = case
    match = rf"Class '{CASES[key][4][0]}' \(label 0\) has only {TRAIN} train images, fewer than the 9 shots"
    with pytest.raises(ValueError, match=match):
        build(key, root, shots=9)


def test_errors_are_lamm_errors(case, tmp_path):
    key, _ = case
    with pytest.raises(LammError):
        build(key, tmp_path / "nowhere")


def test_extra_folder_level_is_pointed_out(tmp_path):
    root = generate("food101", tmp_path / "data")
    os.makedirs(os.path.join(root, "food-101", "food-101"))
    os.rename(os.path.join(root, "food-101", "images"), os.path.join(root, "food-101", "food-101", "images"))
    match = r"has no images/\. Found .*food-101/food-101/images: move it to .*food-101/images"
    with pytest.raises(FileNotFoundError, match=match):
        build("food101", root)


def test_kaggles_nested_cars_folders_are_pointed_out(tmp_path):
    root = generate("stanford_cars", tmp_path)
    for folder in ("cars_train", "cars_test"):
        outer = os.path.join(root, "stanford_cars", folder)
        os.rename(outer, outer + "_tmp")
        os.makedirs(outer)
        os.rename(outer + "_tmp", os.path.join(outer, folder))  # cars_train/cars_train/00001.jpg
    match = r"It exists as .*stanford_cars/cars_train/cars_train/\d+\.jpg: that folder is nested one level too deep"
    with pytest.raises(FileNotFoundError, match=match):
        build("stanford_cars", root)


def test_stanford_cars_split_paths_are_relative_to_the_dataset_folder(tmp_path):
    root = generate("stanford_cars", tmp_path)
    with open(os.path.join(root, CASES["stanford_cars"][3])) as f:
        first = json.load(f)["train"][0][0]
    assert first.startswith("cars_train/")
    ds = build("stanford_cars", root)
    assert ds.train_x[0].impath == os.path.join(root, "stanford_cars", first)
    assert all("/cars_test/" in p for p in paths(ds.test))


def test_fgvc_aircraft_unknown_variant_is_named(tmp_path):
    root = generate("fgvc_aircraft", tmp_path)
    path = os.path.join(root, "fgvc_aircraft", "images_variant_val.txt")
    with open(path, "a") as f:
        f.write("1234567 Boeing 999\n")
    with pytest.raises(ValueError, match=r"images_variant_val\.txt:17: variant 'Boeing 999' is not in .*variants\.txt"):
        build("fgvc_aircraft", root)


def test_fgvc_aircraft_cache_follows_the_lists(tmp_path, capsys):
    root = generate("fgvc_aircraft", tmp_path)
    build("fgvc_aircraft", root, shots=2, seed=1)
    path = os.path.join(root, "fgvc_aircraft", "images_variant_train.txt")
    with open(path) as f:
        lines = f.readlines()
    with open(path, "w") as f:
        f.writelines(lines[:-1])  # drop one training image
    capsys.readouterr()
    ds = build("fgvc_aircraft", root, shots=2, seed=1)
    # Keyed by the lists' fingerprint: the old subset is not reused, a new one is drawn and saved.
    out = capsys.readouterr().out
    assert "Loading preprocessed" not in out
    assert f"Saving preprocessed few-shot data to {ds.split_fewshot_dir}" in out
    assert (paths(ds.train_x), paths(ds.val)) == dassl_draw(build("fgvc_aircraft", root), 2, 1)


@pytest.mark.parametrize("key", [k for k in KEYS if k != "fgvc_aircraft"])
def test_a_class_name_that_disagrees_within_the_split_file_is_named_not_renamed(key, tmp_path, capsys):
    root = generate(key, tmp_path)
    split_path = os.path.join(root, CASES[key][3])
    with open(split_path) as f:
        split = json.load(f)
    usual = CASES[key][4][1]
    odd_entry = next(i for i, (_, label, _) in enumerate(split["val"]) if label == 1)
    split["val"][odd_entry][2] = "renamed by hand"
    with open(split_path, "w") as f:
        json.dump(split, f)
    odd_path = split["val"][odd_entry][0]
    match = (rf"{re.escape(split_path)}: label 1 has two class names: {re.escape(repr(usual))} \(15 entries, e\.g\. "
             rf"train\[\d+\] .*\) and 'renamed by hand' \(1 entry, e\.g\. val\[{odd_entry}\] {re.escape(odd_path)}\)")
    with pytest.raises(ValueError, match=match):
        build(key, root)
    from datasets.prepare import cli as prepare

    assert prepare.main(["check", key, "--root", root]) == 1
    assert "label 1 has two class names" in capsys.readouterr().out

"""``datasets.prepare.preflight``: a missing dataset is one line naming what is missing and the prepare command.

Checked before anything heavy starts, so these tests also hold it to the light modules (the
fast-start tests in test_datasets_fast_start.py run it in a bare interpreter).
"""
import dataclasses
import os
import shutil

import pytest

from datasets import catalog
from datasets.catalog import CATALOG, can_auto_download
from datasets.errors import DatasetNotReadyError
from datasets.prepare.preflight import check_dataset_ready
from lamm.errors import LammError
from tools.synthetic import data as synthetic_data


def make(key, root):
    synthetic_data.make(key, str(root), num_classes=2, train_per_class=2, val_per_class=1, test_per_class=1)
    return str(root)


def refused(name, root):
    with pytest.raises(DatasetNotReadyError) as error:
        check_dataset_ready(name, str(root))
    message = str(error.value)
    assert "\n" not in message  # one line
    return message


@pytest.mark.parametrize("key", sorted(CATALOG))
def test_a_prepared_dataset_passes_and_a_missing_one_names_the_prepare_command(key, tmp_path):
    info = CATALOG[key]
    root = make(key, tmp_path / "data")
    check_dataset_ready(info.name, root)  # CoOp's layout, as the synthetic data writes it

    empty = tmp_path / "empty"
    empty.mkdir()
    message = refused(info.name, empty)
    assert f"its folder {empty / info.dataset_dir} is missing" in message
    assert f"`python -m datasets.prepare {key} --root {empty}`" in message


def test_missing_root(tmp_path):
    message = refused("Caltech101", tmp_path / "nowhere")
    assert f"the dataset root {tmp_path / 'nowhere'} does not exist" in message
    assert f"python -m datasets.prepare caltech101 --root {tmp_path / 'nowhere'}" in message


def test_empty_root_names_the_flag():
    with pytest.raises(LammError, match=r"DATASET.ROOT is empty: pass --root DIR"):
        check_dataset_ready("Caltech101", "  ")


def test_missing_split_file(tmp_path):
    root = make("oxford_pets", tmp_path)
    os.remove(os.path.join(root, "oxford_pets", "split_zhou_OxfordPets.json"))
    message = refused("OxfordPets", root)
    assert f"its split file {root}/oxford_pets/split_zhou_OxfordPets.json is missing" in message
    assert f"`python -m datasets.prepare oxford_pets --root {root}`." in message


def test_missing_images_folder_points_at_a_misplaced_copy(tmp_path):
    root = make("food101", tmp_path)
    os.makedirs(os.path.join(root, "food-101", "food-101"))
    shutil.move(os.path.join(root, "food-101", "images"), os.path.join(root, "food-101", "food-101", "images"))
    message = refused("Food101", root)
    assert f"its images folder {root}/food-101/images is missing (found {root}/food-101/food-101/images" in message


def test_missing_aircraft_list_and_classnames(tmp_path):
    root = make("fgvc_aircraft", tmp_path)
    os.remove(os.path.join(root, "fgvc_aircraft", "images_variant_val.txt"))
    assert "its file " + os.path.join(root, "fgvc_aircraft", "images_variant_val.txt") in refused("FGVCAircraft", root)
    make("imagenet_a", tmp_path)
    os.remove(os.path.join(root, "imagenet-adversarial", "classnames.txt"))
    assert "imagenet-adversarial/classnames.txt is missing" in refused("ImageNetA", root)


def test_a_dataset_with_manual_steps_says_prepare_prints_them(tmp_path):
    message = refused("ImageNet", tmp_path)
    assert "python -m datasets.prepare imagenet --root" in message and "prints the manual steps" in message
    assert "manual steps" not in refused("DescribableTextures", tmp_path)


def test_a_name_outside_the_catalog_is_left_to_its_reader(tmp_path):
    check_dataset_ready("MyOwnDataset", str(tmp_path / "nowhere"))  # no error: not ours to check


def test_relative_and_home_roots_are_resolved(tmp_path, monkeypatch):
    make("dtd", tmp_path / "data")
    monkeypatch.chdir(tmp_path)
    check_dataset_ready("DescribableTextures", "data")
    monkeypatch.setenv("HOME", str(tmp_path))
    check_dataset_ready("DescribableTextures", "~/data")


def test_can_auto_download():
    automatic = {key for key in CATALOG if can_auto_download(key)}
    assert automatic == set(CATALOG) - {"imagenet", "stanford_cars"}  # the two with manual steps
    assert can_auto_download("Caltech101") and not can_auto_download("ImageNet")
    assert not can_auto_download("no_such_dataset")


def test_a_file_only_a_third_party_hosts_is_not_automatic(monkeypatch):
    info = CATALOG["eurosat"]
    third_party_only = tuple(
        dataclasses.replace(dl, sources=tuple(s for s in dl.sources if s.third_party)) if dl.what == "images" else dl
        for dl in info.downloads
    )
    monkeypatch.setitem(catalog.CATALOG, "eurosat", dataclasses.replace(info, downloads=third_party_only))
    assert not can_auto_download("eurosat")

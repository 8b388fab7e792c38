"""The catalog (datasets/catalog.py) agrees with the readers, the configs and CoOp's layout."""
import importlib
import os

import pytest
import yaml
from dassl.data.datasets import DATASET_REGISTRY

import datasets.readers  # noqa: F401  (registers the readers)
from datasets.catalog import CATALOG, DG_TARGETS, FEWSHOT_BENCHMARKS, lookup, zero_shot_template
from datasets.prepare.builders import BUILDERS
from tests.fixtures import REPO_ROOT

# CoOp's config names, registered names and dataset folders (a dataset added later need not be here).
COOP = {
    "imagenet": ("ImageNet", "imagenet"),
    "caltech101": ("Caltech101", "caltech-101"),
    "oxford_pets": ("OxfordPets", "oxford_pets"),
    "stanford_cars": ("StanfordCars", "stanford_cars"),
    "oxford_flowers": ("OxfordFlowers", "oxford_flowers"),
    "food101": ("Food101", "food-101"),
    "fgvc_aircraft": ("FGVCAircraft", "fgvc_aircraft"),
    "sun397": ("SUN397", "sun397"),
    "dtd": ("DescribableTextures", "dtd"),
    "eurosat": ("EuroSAT", "eurosat"),
    "ucf101": ("UCF101", "ucf101"),
    "imagenetv2": ("ImageNetV2", "imagenetv2"),
    "imagenet_sketch": ("ImageNetSketch", "imagenet-sketch"),
    "imagenet_a": ("ImageNetA", "imagenet-adversarial"),
    "imagenet_r": ("ImageNetR", "imagenet-rendition"),
}


def test_coops_datasets_keep_coops_names_and_folders():
    assert {key: (CATALOG[key].name, CATALOG[key].dataset_dir) for key in COOP if key in CATALOG} == COOP


@pytest.mark.parametrize("key", sorted(CATALOG))
def test_config_module_and_registry_agree(key):
    info = CATALOG[key]
    with open(os.path.join(REPO_ROOT, "configs", "datasets", f"{key}.yaml")) as f:
        assert yaml.safe_load(f) == {"DATASET": {"NAME": info.name}}
    reader = DATASET_REGISTRY.get(info.name)
    assert reader.dataset_dir == info.dataset_dir  # Dassl's class attribute, as CoOp sets it
    assert importlib.import_module(f"datasets.readers.{key}").__dict__[info.name] is reader
    assert lookup(key) is info and lookup(info.name.upper()) is info


@pytest.mark.parametrize("key", sorted(CATALOG))
def test_sources_and_destinations(key):
    info = CATALOG[key]
    if info.kind == "split":
        assert info.split_file == f"split_zhou_{info.name}.json" and len(info.split_gdrive_id) == 33
        assert callable(BUILDERS[key])  # prepare --build-split, without Dassl
        split_downloads = [dl for dl in info.downloads if dl.what == "split"]
        assert [dl.sources[0].gdrive_id for dl in split_downloads] == [info.split_gdrive_id]
    for dl in info.downloads:
        for source in dl.sources:
            assert bool(source.url) != bool(source.gdrive_id)
            assert not source.url or source.url.startswith(("http://", "https://"))
            assert len(source.md5) in (0, 32) and len(source.sha256) in (0, 64)
        for _, dst in dl.place:
            assert not os.path.isabs(dst) and ".." not in dst.split("/")
        assert dl.products and dl.size
    assert info.layout.startswith(f"  {info.dataset_dir}/")
    has_image_download = any(dl.what == "images" and dl.sources for dl in info.downloads)
    assert has_image_download or info.manual, "a dataset nobody can get"


def test_the_benchmark_lists_are_the_papers():
    assert FEWSHOT_BENCHMARKS == ("imagenet", "caltech101", "oxford_pets", "stanford_cars", "oxford_flowers",
                                  "food101", "fgvc_aircraft", "sun397", "dtd", "eurosat", "ucf101")
    assert DG_TARGETS == ("imagenetv2", "imagenet_sketch", "imagenet_a", "imagenet_r")
    assert set(FEWSHOT_BENCHMARKS) | set(DG_TARGETS) == set(CATALOG)
    assert all(CATALOG[key].kind == "test-only" for key in DG_TARGETS)


# CoOp's zero-shot templates (trainers/zsclip.py in the CoOp repository) and the LAMM paper's
# column labels, written out here so that the catalog's copies are checked against them.
COOP_TEMPLATES = {
    "OxfordPets": "a photo of a {}, a type of pet.",
    "OxfordFlowers": "a photo of a {}, a type of flower.",
    "FGVCAircraft": "a photo of a {}, a type of aircraft.",
    "DescribableTextures": "{} texture.",
    "EuroSAT": "a centered satellite photo of {}.",
    "StanfordCars": "a photo of a {}.",
    "Food101": "a photo of {}, a type of food.",
    "SUN397": "a photo of a {}.",
    "Caltech101": "a photo of a {}.",
    "UCF101": "a photo of a person doing {}.",
    "ImageNet": "a photo of a {}.",
    "ImageNetSketch": "a photo of a {}.",
    "ImageNetV2": "a photo of a {}.",
    "ImageNetA": "a photo of a {}.",
    "ImageNetR": "a photo of a {}.",
}
PAPER_LABELS = {"OxfordFlowers": "Flowers102", "DescribableTextures": "DTD", "ImageNetV2": "-V2",
                "ImageNetSketch": "-Sketch", "ImageNetA": "-A", "ImageNetR": "-R"}


@pytest.mark.parametrize("key", sorted(CATALOG))
def test_every_dataset_has_its_zero_shot_template_and_paper_label(key):
    info = CATALOG[key]
    assert info.template.count("{}") == 1 and info.template.format("x") != info.template
    assert info.paper_label == PAPER_LABELS.get(info.name, info.name)
    if info.name in COOP_TEMPLATES:
        assert info.template == COOP_TEMPLATES[info.name]


def test_zero_shot_template_falls_back_to_coops_default():
    assert zero_shot_template("DescribableTextures") == "{} texture."
    assert zero_shot_template("MyOwnDataset") == "a photo of a {}."

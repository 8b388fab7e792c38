"""datasets/layout.py: finding a dataset's folder, and pointing at a copy that sits one level off."""
import pytest

from datasets.layout import find_dataset_dir

LAYOUT = "  toy/\n    images/\n"


def test_find_dataset_dir_resolves_relative_roots(tmp_path, monkeypatch):
    (tmp_path / "toy" / "images").mkdir(parents=True)
    monkeypatch.chdir(tmp_path)
    found = find_dataset_dir(".", "toy", name="Toy", layout=LAYOUT, subdirs=["images"])
    assert found == str(tmp_path / "toy")


def test_find_dataset_dir_errors_show_the_layout(tmp_path):
    match = r"Toy folder not found: .*toy\. Toy expects this layout(.|\n)*  toy/\n    images/"
    with pytest.raises(FileNotFoundError, match=match):
        find_dataset_dir(str(tmp_path), "toy", name="Toy", layout=LAYOUT)
    (tmp_path / "toy").mkdir()
    with pytest.raises(FileNotFoundError, match=r"has no images/(.|\n)*--root DIR \(the scripts use \$DATA\)"):
        find_dataset_dir(str(tmp_path), "toy", name="Toy", layout=LAYOUT, subdirs=["images"])


def test_locate_misplaced_finds_the_usual_slips(tmp_path):
    from datasets.layout import locate_misplaced

    (tmp_path / "food-101" / "food-101" / "images").mkdir(parents=True)
    assert locate_misplaced(str(tmp_path), "food-101", "images") == str(tmp_path / "food-101" / "food-101" / "images")
    (tmp_path / "imagenet" / "train").mkdir(parents=True)
    assert locate_misplaced(str(tmp_path), "imagenet", "images/train") == str(tmp_path / "imagenet" / "train")
    (tmp_path / "2750").mkdir()
    (tmp_path / "eurosat").mkdir()
    assert locate_misplaced(str(tmp_path), "eurosat", "2750") == str(tmp_path / "2750")
    assert locate_misplaced(str(tmp_path), "dtd", "images") is None

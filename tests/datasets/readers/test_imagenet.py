"""ImageNet and its shifted test sets (V2, Sketch, A, R) on synthetic copies of their layouts."""
import json
import os
import pickle
import random
from collections import Counter

import pytest
from dassl.data.datasets import DATASET_REGISTRY, DatasetBase

import datasets.readers  # noqa: F401  (registers the readers)
from datasets.official_lists import fix_flat_val, imagenet_class_indices, read_classnames
from tests.fixtures import dataset_cfg
from tools.synthetic.data import (
    IMAGENET_A_INDICES,
    IMAGENET_CLASSES,
    IMAGENET_R_INDICES,
    make_imagenet,
    make_imagenet_a,
    make_imagenet_r,
    make_imagenet_sketch,
    make_imagenetv2,
)

NAMES = ["tench", "goldfish", "great white shark", "tiger shark", "hammerhead shark"]
WNIDS = ["n01440764", "n01443537", "n01484850", "n01491361", "n01494475"]


make_cfg = dataset_cfg


def build(name, root, shots=-1, seed=1, subsample=None):
    random.seed(seed)
    return DATASET_REGISTRY.get(name)(make_cfg(name, root, shots, seed, subsample))


def paths(items):
    return [item.impath for item in items]


def per_class(items):
    return Counter(item.label for item in items)


@pytest.fixture
def imagenet_root(tmp_path):
    make_imagenet(tmp_path, num_classes=5, train_per_class=6, val_per_class=3)
    return str(tmp_path)


# --- ImageNet -------------------------------------------------------------------------------


def test_imagenet_reads_train_and_val_as_coop(imagenet_root):
    ds = build("ImageNet", imagenet_root)
    assert ds.num_classes == 5 and ds.classnames == NAMES
    assert (len(ds.train_x), len(ds.test)) == (30, 15)
    assert ds.val is ds.test  # CoOp evaluates and validates on the official val set
    assert per_class(ds.train_x) == {y: 6 for y in range(5)}
    train_dir = os.path.join(imagenet_root, "imagenet", "images", "train")
    for item in ds.train_x:
        assert os.path.dirname(item.impath) == os.path.join(train_dir, WNIDS[item.label])
        assert item.classname == NAMES[item.label]
    for item in ds.test:
        assert os.path.basename(os.path.dirname(item.impath)) == WNIDS[item.label]
    assert paths(ds.train_x) == sorted(paths(ds.train_x))  # sorted listing: the same on every machine


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_imagenet_fewshot_is_dassls_draw_from_train_only(imagenet_root, seed, fewshot_cache):
    full = build("ImageNet", imagenet_root)
    ds = build("ImageNet", imagenet_root, shots=4, seed=seed)
    random.seed(seed)
    expected = DatasetBase.__new__(DatasetBase).generate_fewshot_dataset(full.train_x, num_shots=4)
    assert paths(ds.train_x) == paths(expected)
    assert per_class(ds.train_x) == {y: 4 for y in range(5)}
    assert len(ds.test) == 15 and ds.val is ds.test  # val is not subsampled
    cache = os.path.join(ds.split_fewshot_dir, f"shot_4-seed_{seed}.json")
    assert cache.startswith(str(fewshot_cache))
    assert not os.path.exists(os.path.join(imagenet_root, "imagenet", "split_fewshot"))
    with open(cache) as f:
        data = json.load(f)
    assert data["val"] is None and len(data["train"]) == 20
    assert not any(os.path.isabs(p) for p, _, _ in data["train"])
    again = build("ImageNet", imagenet_root, shots=4, seed=seed)
    assert paths(again.train_x) == paths(ds.train_x)


def test_imagenet_base_new_apply_to_train_and_test(imagenet_root):
    base = build("ImageNet", imagenet_root, shots=2, subsample="base")
    new = build("ImageNet", imagenet_root, shots=2, subsample="new")
    assert base.classnames == NAMES[:3] and new.classnames == NAMES[3:]
    assert per_class(base.train_x) == {0: 2, 1: 2, 2: 2} and per_class(new.test) == {0: 3, 1: 3}
    assert base.val is base.test


def test_imagenet_never_loads_coops_pickle(imagenet_root, tmp_path):
    marker = tmp_path / "pwned"

    class Evil:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    with open(os.path.join(imagenet_root, "imagenet", "preprocessed.pkl"), "wb") as f:
        pickle.dump({"train": Evil(), "test": Evil()}, f)
    os.makedirs(os.path.join(imagenet_root, "imagenet", "split_fewshot"))
    with open(os.path.join(imagenet_root, "imagenet", "split_fewshot", "shot_2-seed_1.pkl"), "wb") as f:
        pickle.dump({"train": Evil()}, f)
    ds = build("ImageNet", imagenet_root, shots=2)
    assert len(ds.train_x) == 10 and not marker.exists()


def test_imagenet_flat_val_is_reported_with_the_fix(tmp_path):
    make_imagenet(tmp_path, num_classes=3, train_per_class=2, val_per_class=2, flat_val=True)
    match = r"images/val holds 6 images directly(.|\n)*--fix-val FILE(.|\n)*valprep\.sh"
    with pytest.raises(ValueError, match=match):
        build("ImageNet", tmp_path)


@pytest.mark.parametrize("mapping", ["LOC_val_solution.csv", "valprep.sh", "pairs.txt"])
def test_fix_flat_val_sorts_the_images(tmp_path, mapping):
    make_imagenet(tmp_path, num_classes=3, train_per_class=2, val_per_class=2, flat_val=True)
    if mapping == "pairs.txt":  # plain "<file> <wnid>" lines
        with open(tmp_path / "pairs.txt", "w") as f:
            for i in range(6):
                f.write(f"ILSVRC2012_val_{i + 1:08d}.JPEG {WNIDS[i // 2]}\n")
    val_dir = os.path.join(str(tmp_path), "imagenet", "images", "val")
    assert fix_flat_val(val_dir, str(tmp_path / mapping)) == 6
    ds = build("ImageNet", tmp_path)
    assert per_class(ds.test) == {0: 2, 1: 2, 2: 2}
    assert os.path.isfile(os.path.join(val_dir, WNIDS[1], "ILSVRC2012_val_00000003.JPEG"))


def test_fix_flat_val_moves_nothing_when_the_mapping_is_incomplete(tmp_path):
    make_imagenet(tmp_path, num_classes=2, train_per_class=2, val_per_class=2, flat_val=True)
    mapping = tmp_path / "short.txt"
    mapping.write_text(f"ILSVRC2012_val_00000001.JPEG {WNIDS[0]}\n")
    val_dir = os.path.join(str(tmp_path), "imagenet", "images", "val")
    with pytest.raises(ValueError, match=r"3 images in .* are not in .*short\.txt .*nothing was moved"):
        fix_flat_val(val_dir, str(mapping))
    assert len(os.listdir(val_dir)) == 4


def test_imagenet_train_and_val_classes_must_match(imagenet_root):
    val_dir = os.path.join(imagenet_root, "imagenet", "images", "val")
    for name in os.listdir(os.path.join(val_dir, WNIDS[2])):
        os.remove(os.path.join(val_dir, WNIDS[2], name))
    os.rmdir(os.path.join(val_dir, WNIDS[2]))
    with pytest.raises(ValueError, match=r"different classes \(5 vs 4 folders; only in train: \['n01484850'\]"):
        build("ImageNet", imagenet_root)


def test_imagenet_missing_classnames_says_how_to_get_it(imagenet_root):
    os.remove(os.path.join(imagenet_root, "imagenet", "classnames.txt"))
    with pytest.raises(FileNotFoundError, match=r"classnames\.txt(.|\n)*python -m datasets\.prepare imagenet"):
        build("ImageNet", imagenet_root)


def test_imagenet_folder_without_a_class_name(imagenet_root):
    path = os.path.join(imagenet_root, "imagenet", "classnames.txt")
    with open(path) as f:
        lines = f.readlines()
    with open(path, "w") as f:
        f.writelines(lines[:-1])
    with pytest.raises(FileNotFoundError, match=r"n01494475 has no entry in .*classnames\.txt"):
        build("ImageNet", imagenet_root)


def test_imagenet_missing_val_folder(imagenet_root):
    os.rename(os.path.join(imagenet_root, "imagenet", "images", "val"),
              os.path.join(imagenet_root, "imagenet", "val"))
    with pytest.raises(FileNotFoundError, match=r"has no images/val/"):
        build("ImageNet", imagenet_root)


def test_read_classnames_rejects_malformed_lines(tmp_path):
    path = tmp_path / "classnames.txt"
    path.write_text("n01440764 tench\nn01443537\n")
    with pytest.raises(ValueError, match=r"classnames\.txt:2: expected '<wnid> <class name>'"):
        read_classnames(str(path))
    path.write_text("n01440764 tench\nn01440764 tench again\n")
    with pytest.raises(ValueError, match=r":2: wnid n01440764 appears twice"):
        read_classnames(str(path))
    path.write_text("n01440764 great white   shark\n")
    assert read_classnames(str(path)) == {"n01440764": "great white   shark"}


# --- the shifted test sets -------------------------------------------------------------------


def test_imagenetv2_labels_are_the_folder_numbers(tmp_path):
    make_imagenetv2(tmp_path, num_classes=5, test_per_class=2)
    ds = build("ImageNetV2", tmp_path)
    assert ds.classnames == NAMES and ds.num_classes == 5
    assert ds.train_x is ds.test and ds.val is None and len(ds.test) == 10
    for item in ds.test:
        assert os.path.basename(os.path.dirname(item.impath)) == str(item.label)
    assert ds.class_ids == list(range(5)) and ds.wnids == WNIDS


def test_imagenetv2_folders_must_match_classnames(tmp_path):
    root = make_imagenetv2(tmp_path, num_classes=3, test_per_class=1)
    with open(os.path.join(root, "classnames.txt"), "a") as f:
        f.write("n01491361 tiger shark\n")
    with pytest.raises(ValueError, match=r"must hold the folders 0\.\.3, one per line of classnames\.txt; missing: \['3'\]"):
        build("ImageNetV2", tmp_path)


def test_imagenetv2_ignores_shots_and_subsample(tmp_path):
    make_imagenetv2(tmp_path, num_classes=4, test_per_class=2)
    ds = build("ImageNetV2", tmp_path, shots=1, subsample="new")
    assert ds.num_classes == 4 and len(ds.test) == 8


def test_imagenet_sketch_labels_are_sorted_folder_indices(tmp_path):
    make_imagenet_sketch(tmp_path, num_classes=5, test_per_class=2)
    ds = build("ImageNetSketch", tmp_path)
    assert ds.classnames == NAMES and len(ds.test) == 10
    for item in ds.test:
        assert os.path.basename(os.path.dirname(item.impath)) == WNIDS[item.label]


@pytest.mark.parametrize("name, make, indices, subdir", [
    ("ImageNetA", make_imagenet_a, IMAGENET_A_INDICES, "imagenet-a"),
    ("ImageNetR", make_imagenet_r, IMAGENET_R_INDICES, "imagenet-r"),
])
def test_imagenet_a_and_r_relabel_their_subset_and_map_to_imagenet(tmp_path, name, make, indices, subdir):
    dataset_dir = make(tmp_path, test_per_class=3)
    assert os.path.isfile(os.path.join(dataset_dir, subdir, "README.txt"))  # ignored, as in CoOp
    ds = build(name, tmp_path)
    assert ds.num_classes == len(indices)  # relabelled 0..n-1, as CoOp's 200
    assert ds.classnames == [IMAGENET_CLASSES[i][1] for i in indices]
    assert ds.wnids == [IMAGENET_CLASSES[i][0] for i in indices]
    assert ds.class_ids == indices
    assert per_class(ds.test) == {y: 3 for y in range(len(indices))}
    for item in ds.test:
        assert os.path.basename(os.path.dirname(item.impath)) == ds.wnids[item.label]
    classnames = read_classnames(os.path.join(dataset_dir, "classnames.txt"))
    assert imagenet_class_indices(ds.wnids, classnames) == indices


def test_imagenet_class_indices_rejects_unknown_wnids():
    with pytest.raises(ValueError, match=r"wnid n09999999 is not one of the 2 ImageNet classes"):
        imagenet_class_indices(["n01440764", "n09999999"], {"n01440764": "tench", "n01443537": "goldfish"})


def test_unsorted_classnames_are_refused_by_the_variants(tmp_path):
    root = make_imagenet_a(tmp_path, test_per_class=1)
    path = os.path.join(root, "classnames.txt")
    with open(path) as f:
        lines = f.readlines()
    lines[0], lines[1] = lines[1], lines[0]
    with open(path, "w") as f:
        f.writelines(lines)
    with pytest.raises(ValueError, match=r"not sorted by wnid \(line 1 is n01443537\)"):
        build("ImageNetA", tmp_path)


def test_variant_without_classnames_points_at_imagenets_copy(tmp_path):
    make_imagenet(tmp_path, num_classes=2, train_per_class=1, val_per_class=1)
    root = make_imagenet_r(tmp_path, test_per_class=1)
    os.remove(os.path.join(root, "classnames.txt"))
    with pytest.raises(FileNotFoundError, match=r"cp .*imagenet/classnames\.txt .*imagenet-rendition/classnames\.txt"):
        build("ImageNetR", tmp_path)


def test_variant_with_a_non_wnid_folder(tmp_path):
    root = make_imagenet_sketch(tmp_path, num_classes=2, test_per_class=1)
    os.makedirs(os.path.join(root, "images", "extra"))
    with pytest.raises(ValueError, match=r"images/extra is not a wnid folder"):
        build("ImageNetSketch", tmp_path)

"""Caltech101 read through the real reader from a synthetic copy of its on-disk layout."""
import functools
import hashlib
import json
import multiprocessing as mp
import os
import random
from collections import Counter

import pytest
from dassl.data.datasets import DATASET_REGISTRY

from datasets.readers.caltech101 import Caltech101
from lamm.errors import LammError
from tests.fixtures import dataset_cfg
from tools.synthetic.data import make_caltech101

# make_caltech101 sorts its first four folders (airplanes, Faces, Leopards, Motorbikes) and
# stores CoOp's renamed class names.
CLASSNAMES = ["face", "leopard", "motorbike", "airplane"]


make_cfg = functools.partial(dataset_cfg, "Caltech101")


def build(root, shots=-1, seed=1, subsample=None):
    """Seed ``random`` as train.py's set_random_seed does, then build the reader."""
    random.seed(seed)
    return Caltech101(make_cfg(root, shots, seed, subsample))


def rel_paths(items, dataset_dir):
    return [os.path.relpath(item.impath, os.path.join(dataset_dir, "101_ObjectCategories")) for item in items]


def per_class(items):
    return Counter(item.label for item in items)


@pytest.fixture
def data_root(tmp_path):
    make_caltech101(tmp_path, num_classes=4, train_per_class=8, val_per_class=5, test_per_class=3)
    return tmp_path


def test_registered_under_its_config_name():
    assert DATASET_REGISTRY.get("Caltech101") is Caltech101


def test_reads_the_split_file(data_root):
    ds = build(data_root)

    assert ds.num_classes == 4
    assert ds.classnames == CLASSNAMES
    assert ds.lab2cname == dict(enumerate(CLASSNAMES))
    assert (len(ds.train_x), len(ds.val), len(ds.test)) == (32, 20, 12)
    assert per_class(ds.train_x) == {0: 8, 1: 8, 2: 8, 3: 8}
    assert ds.train_u is None
    image_dir = os.path.join(str(data_root), "caltech-101", "101_ObjectCategories")
    for item in ds.train_x + ds.val + ds.test:
        assert item.impath.startswith(image_dir + os.sep) and os.path.isfile(item.impath)
        assert item.classname == CLASSNAMES[item.label] and item.domain == 0
    # The folder keeps the original name; the stored class name is CoOp's renamed one.
    assert {os.path.basename(os.path.dirname(i.impath)) for i in ds.train_x if i.classname == "airplane"} == {
        "airplanes"
    }


def test_root_with_tilde_is_expanded(data_root, monkeypatch):
    monkeypatch.setenv("HOME", str(data_root))
    assert len(build("~").train_x) == 32


def test_without_shots_no_cache_is_written(data_root, fewshot_cache):
    build(data_root, shots=-1)
    assert not os.path.exists(os.path.join(str(data_root), "caltech-101", "split_fewshot"))
    assert not os.listdir(fewshot_cache)


@pytest.mark.parametrize("shots", [1, 2, 4, 8])
def test_k_shot_counts(data_root, shots):
    ds = build(data_root, shots=shots)
    assert per_class(ds.train_x) == {label: shots for label in range(4)}
    assert per_class(ds.val) == {label: min(shots, 4) for label in range(4)}
    assert len(ds.test) == 12  # the test split is never subsampled
    assert ds.classnames == CLASSNAMES


def test_subset_is_the_one_dassl_draws(data_root):
    shots, seed = 2, 3
    ds = build(data_root, shots=shots, seed=seed)

    full = build(data_root)
    random.seed(seed)
    expected_train = full.generate_fewshot_dataset(full.train_x, num_shots=shots)
    expected_val = full.generate_fewshot_dataset(full.val, num_shots=min(shots, 4))
    assert [i.impath for i in ds.train_x] == [i.impath for i in expected_train]
    assert [i.impath for i in ds.val] == [i.impath for i in expected_val]


def test_same_seed_same_subset_other_seed_other_subset(tmp_path):
    dirs = [make_caltech101(tmp_path / name, train_per_class=8) for name in ("a", "b", "c")]
    first = build(tmp_path / "a", shots=2, seed=1)
    again = build(tmp_path / "b", shots=2, seed=1)  # another copy: no shared cache
    other = build(tmp_path / "c", shots=2, seed=2)
    assert rel_paths(first.train_x, dirs[0]) == rel_paths(again.train_x, dirs[1])
    assert rel_paths(first.train_x, dirs[0]) != rel_paths(other.train_x, dirs[2])


def test_cache_is_json_with_relative_paths_and_a_fingerprint(data_root, capsys, fewshot_cache):
    ds = build(data_root, shots=2, seed=1)
    dataset_dir = os.path.join(str(data_root), "caltech-101")
    cache = os.path.join(ds.split_fewshot_dir, "shot_2-seed_1.json")
    assert f"Saving preprocessed few-shot data to {cache}" in capsys.readouterr().out
    # In the cache folder, keyed by dataset and split fingerprint; never in the data folder.
    assert os.path.dirname(cache).startswith(os.path.join(str(fewshot_cache), "fewshot", "caltech101") + os.sep)
    assert not os.path.exists(os.path.join(dataset_dir, "split_fewshot"))

    with open(cache) as f:
        data = json.load(f)
    with open(os.path.join(dataset_dir, "split_zhou_Caltech101.json"), "rb") as f:
        assert data["split_fingerprint"] == hashlib.sha256(f.read()).hexdigest()
    assert (data["num_shots"], data["seed"]) == (2, 1)
    assert [p for p, _, _ in data["train"]] == rel_paths(ds.train_x, dataset_dir)
    assert [[label, name] for _, label, name in data["val"]] == [[i.label, i.classname] for i in ds.val]
    assert not any(os.path.isabs(p) for p, _, _ in data["train"] + data["val"])
    assert not [name for name in os.listdir(os.path.dirname(cache)) if name.endswith(".tmp")]


def test_cache_hit_reuses_the_subset_without_consuming_random(data_root, capsys):
    first = build(data_root, shots=4, seed=1)
    capsys.readouterr()

    random.seed(12345)
    state = random.getstate()
    second = Caltech101(make_cfg(data_root, shots=4, seed=1))
    assert random.getstate() == state
    assert "Loading preprocessed few-shot data from" in capsys.readouterr().out
    assert [i.impath for i in second.train_x] == [i.impath for i in first.train_x]
    assert [(i.label, i.classname) for i in second.val] == [(i.label, i.classname) for i in first.val]


def test_stale_cache_is_rebuilt_when_the_split_changes(data_root, capsys):
    old = build(data_root, shots=2, seed=1)
    dataset_dir = os.path.join(str(data_root), "caltech-101")
    split_path = os.path.join(dataset_dir, "split_zhou_Caltech101.json")
    with open(split_path) as f:
        split = json.load(f)
    split["train"] = [r for r in split["train"] if r[0] != split["train"][0][0]]  # drop one image
    with open(split_path, "w") as f:
        json.dump(split, f)
    capsys.readouterr()

    rebuilt = build(data_root, shots=2, seed=1)
    out = capsys.readouterr().out
    # The cache is keyed by the split's fingerprint: a changed split never meets the old cache.
    assert "Loading preprocessed" not in out and "Saving preprocessed few-shot data" in out
    assert rebuilt.split_fewshot_dir != old.split_fewshot_dir
    fresh = build(data_root, shots=-1)
    random.seed(1)
    expected = fresh.generate_fewshot_dataset(fresh.train_x, num_shots=2)
    assert [i.impath for i in rebuilt.train_x] == [i.impath for i in expected]
    with open(os.path.join(rebuilt.split_fewshot_dir, "shot_2-seed_1.json")) as f:
        with open(split_path, "rb") as g:
            assert json.load(f)["split_fingerprint"] == hashlib.sha256(g.read()).hexdigest()


def _build_after_barrier(root, shots, seed, barrier, result_path):
    barrier.wait()
    ds = build(root, shots=shots, seed=seed)
    with open(result_path, "w") as f:
        json.dump([i.impath for i in ds.train_x + ds.val], f)


@pytest.mark.skipif("fork" not in mp.get_all_start_methods(), reason="needs fork")
def test_concurrent_runs_leave_valid_caches(data_root, tmp_path_factory):
    """Runs of seeds 1, 1, 1, 2, 2, 3 write the same caches at once: all succeed, get the same subset
    per seed and leave whole files."""
    seeds = [1, 1, 1, 2, 2, 3]
    results = tmp_path_factory.mktemp("results")
    ctx = mp.get_context("fork")
    barrier = ctx.Barrier(len(seeds))
    procs = [ctx.Process(target=_build_after_barrier, args=(data_root, 2, s, barrier, results / f"{i}.json"))
             for i, s in enumerate(seeds)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
    assert [p.exitcode for p in procs] == [0] * len(seeds)
    subsets = [json.loads((results / f"{i}.json").read_text()) for i in range(len(seeds))]
    assert subsets[0] == subsets[1] == subsets[2] and subsets[3] == subsets[4] and subsets[0] != subsets[3]

    fewshot_dir = build(data_root, shots=-1).split_fewshot_dir
    assert sorted(os.listdir(fewshot_dir)) == [f"shot_2-seed_{s}.json" for s in (1, 2, 3)]
    for seed in (1, 2, 3):
        with open(os.path.join(fewshot_dir, f"shot_2-seed_{seed}.json")) as f:
            cached = json.load(f)
        fresh = build(data_root, shots=-1)
        random.seed(seed)
        expected = fresh.generate_fewshot_dataset(fresh.train_x, num_shots=2)
        assert [p for p, _, _ in cached["train"]] == rel_paths(expected, os.path.join(str(data_root), "caltech-101"))


@pytest.mark.parametrize(
    "subsample, names", [("base", ["face", "leopard"]), ("new", ["motorbike", "airplane"]), ("all", CLASSNAMES)]
)
def test_base_new_subsampling(data_root, capsys, subsample, names):
    ds = build(data_root, shots=2, subsample=subsample)
    assert ds.classnames == names
    n = len(names)
    assert per_class(ds.train_x) == {label: 2 for label in range(n)}
    assert per_class(ds.val) == {label: 2 for label in range(n)}
    assert per_class(ds.test) == {label: 3 for label in range(n)}
    for item in ds.train_x + ds.val + ds.test:
        assert item.classname == names[item.label]
    printed = f"SUBSAMPLE {subsample.upper()} CLASSES!" in capsys.readouterr().out
    assert printed == (subsample != "all")


def test_odd_class_count_gives_the_extra_class_to_base(tmp_path):
    make_caltech101(tmp_path, num_classes=5)
    assert build(tmp_path, subsample="base").num_classes == 3
    assert build(tmp_path, subsample="new").num_classes == 2


def test_subsample_key_absent_means_all(data_root):
    cfg = make_cfg(data_root)
    assert "SUBSAMPLE_CLASSES" not in cfg.DATASET
    assert Caltech101(cfg).num_classes == 4


# --- errors ---------------------------------------------------------------------------------


def test_missing_root(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"Dataset root not found: .*nowhere(.|\n)*--root"):
        build(tmp_path / "nowhere")


def test_empty_root():
    with pytest.raises(ValueError, match="DATASET.ROOT is empty"):
        build("")


def test_missing_dataset_folder(tmp_path):
    match = r"Caltech101 folder not found: .*caltech-101(.|\n)*101_ObjectCategories"
    with pytest.raises(FileNotFoundError, match=match):
        build(tmp_path)


def test_missing_image_folder(data_root):
    os.rename(
        os.path.join(str(data_root), "caltech-101", "101_ObjectCategories"),
        os.path.join(str(data_root), "caltech-101", "images"),
    )
    with pytest.raises(FileNotFoundError, match="has no 101_ObjectCategories/"):
        build(data_root)


def test_missing_split_file_says_how_to_get_it(data_root):
    os.remove(os.path.join(str(data_root), "caltech-101", "split_zhou_Caltech101.json"))
    match = r"split_zhou_Caltech101\.json(.|\n)*gdown 1hyarUivQE36mY6jSomru6Fjd-JzwcCzN -O "
    with pytest.raises(FileNotFoundError, match=match):
        build(data_root)


def test_missing_images_are_counted_and_the_first_named(data_root):
    image_dir = os.path.join(str(data_root), "caltech-101", "101_ObjectCategories")
    with open(os.path.join(str(data_root), "caltech-101", "split_zhou_Caltech101.json")) as f:
        first_train = json.load(f)["train"][0][0]
    os.remove(os.path.join(image_dir, first_train))
    os.remove(os.path.join(image_dir, "Leopards", "image_0001.jpg"))
    with pytest.raises(FileNotFoundError, match=rf"2 of the 64 images .* the first is .*{first_train}"):
        build(data_root)


def test_malformed_split_file(data_root):
    with open(os.path.join(str(data_root), "caltech-101", "split_zhou_Caltech101.json"), "w") as f:
        f.write('{"train": [')
    with pytest.raises(ValueError, match=r"split_zhou_Caltech101\.json is not valid JSON"):
        build(data_root)


def test_too_few_images_for_the_shots(data_root):
    random.seed(1)
    state = random.getstate()
    match = r"Class 'face' \(label 0\) has only 8 train images, fewer than the 9 shots"
    with pytest.raises(ValueError, match=match):
        Caltech101(make_cfg(data_root, shots=9))
    assert random.getstate() == state  # refused before drawing anything


def test_errors_are_lamm_errors_so_train_py_prints_them_without_a_traceback(tmp_path):
    with pytest.raises(LammError):
        build(tmp_path / "nowhere")
    with pytest.raises(LammError):
        build("")


def test_unknown_subsample_value(data_root):
    match = r"SUBSAMPLE_CLASSES must be one of \['all', 'base', 'new'\], got 'novel'"
    with pytest.raises(ValueError, match=match):
        build(data_root, shots=2, subsample="novel")


@pytest.mark.parametrize("shots", [2, -1])
def test_a_train_label_out_of_range_is_named_at_load_not_as_a_short_class(data_root, shots):
    split_path = os.path.join(str(data_root), "caltech-101", "split_zhou_Caltech101.json")
    with open(split_path) as f:
        split = json.load(f)
    split["train"][0][1] = 40  # Dassl would count 41 classes, 36 of them empty
    with open(split_path, "w") as f:
        json.dump(split, f)
    with pytest.raises(LammError) as raised:
        build(data_root, shots=shots)
    message = str(raised.value)
    assert message.startswith(f"{split_path}: train[0] ") and "has label 40, but the labels must be 0..4" in message
    assert "too few" not in message and "fewer than" not in message

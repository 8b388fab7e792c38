"""The shared reader pieces: split files, the few-shot subset and cache, base/new classes."""
import json
import multiprocessing as mp
import os
import random

import pytest
from dassl.data.datasets import DatasetBase, Datum

from datasets.base_new import subsample_classes
from datasets.common import find_dataset_dir
from datasets.fewshot import fewshot_cache_path, fewshot_subset, require_enough_per_class
from datasets.split_file import (
    datums_to_records,
    file_sha256,
    gdrive_download_hint,
    read_split,
    records_to_datums,
    write_split,
)
from tests.dataset_cache import fewshot_cache  # noqa: F401  (autouse: a cache folder per test)
from tools.synthetic_data import make_caltech101

LAYOUT = "  toy/\n    images/\n"


@pytest.fixture
def caltech(tmp_path):
    """(image_dir, split_path) of a 5-class synthetic Caltech101."""
    dataset_dir = make_caltech101(
        tmp_path / "data", num_classes=5, train_per_class=6, val_per_class=4, test_per_class=2
    )
    return (
        os.path.join(dataset_dir, "101_ObjectCategories"),
        os.path.join(dataset_dir, "split_zhou_Caltech101.json"),
    )


def sampler():
    """A bare DatasetBase: Dassl's generate_fewshot_dataset needs an instance, not its data."""
    return DatasetBase.__new__(DatasetBase)


def draw(train, val, cache_dir, image_dir, fingerprint="fp", shots=2, seed=1):
    random.seed(seed)
    return fewshot_subset(
        sampler(), train, val, num_shots=shots, seed=seed, cache_dir=cache_dir, path_prefix=image_dir,
        fingerprint=fingerprint,
    )


# --- dataset folder -------------------------------------------------------------------------


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


# --- split files ----------------------------------------------------------------------------


def test_read_split_gives_datums_with_the_prefix(caltech, capsys):
    image_dir, split_path = caltech
    train, val, test = read_split(split_path, image_dir)
    assert f"Reading split from {split_path}" in capsys.readouterr().out
    assert (len(train), len(val), len(test)) == (30, 20, 10)
    assert all(isinstance(item, Datum) and item.impath.startswith(image_dir) for item in train + val + test)
    assert {(item.label, item.classname) for item in train} == {
        (0, "face"), (1, "leopard"), (2, "motorbike"), (3, "accordion"), (4, "airplane")
    }


def test_write_split_round_trips_with_relative_paths(caltech, tmp_path):
    image_dir, split_path = caltech
    train, val, test = read_split(split_path, image_dir)
    copy = str(tmp_path / "copy.json")
    write_split(train, val, test, copy, image_dir)
    with open(split_path) as f, open(copy) as g:
        assert json.load(f) == json.load(g)


def test_datums_to_records_is_the_inverse_of_records_to_datums(caltech):
    image_dir, split_path = caltech
    with open(split_path) as f:
        records = json.load(f)["val"]
    datums = records_to_datums({"val": records}, image_dir, split_path)["val"]
    assert datums_to_records(datums, image_dir) == records


def test_malformed_entry_is_named(caltech):
    image_dir, split_path = caltech
    match = r"entry 1 of 'train' is \['a\.jpg', 0\], expected \[impath, label, classname\]"
    with pytest.raises(ValueError, match=match):
        records_to_datums({"train": [["b.jpg", 0, "b"], ["a.jpg", 0]]}, image_dir, split_path)


def test_split_without_a_test_key(caltech, tmp_path):
    image_dir, _ = caltech
    path = tmp_path / "split.json"
    path.write_text(json.dumps({"train": [], "val": []}))
    with pytest.raises(ValueError, match=r"must be a JSON object with the keys \['train', 'val', 'test'\]"):
        read_split(str(path), image_dir)


def test_missing_split_file_message_carries_the_hint(tmp_path):
    hint = gdrive_download_hint("ID123", "/x/split.json")
    match = r"Split file not found: .*nope\.json\. .*gdown ID123 -O /x/split\.json"
    with pytest.raises(FileNotFoundError, match=match):
        read_split(str(tmp_path / "nope.json"), str(tmp_path), hint)


def _redraw_repeatedly(caltech, cache_dir, fingerprint, barrier):
    image_dir, split_path = caltech
    train, val, _ = read_split(split_path, image_dir)
    barrier.wait()
    for _ in range(20):
        draw(train, val, cache_dir, image_dir, fingerprint=fingerprint)  # the other writers' cache is stale


@pytest.mark.skipif("fork" not in mp.get_all_start_methods(), reason="needs fork")
def test_concurrent_cache_writes_never_show_a_partial_file(caltech, tmp_path):
    cache_dir = str(tmp_path / "fs")
    fingerprints = ["fp-a", "fp-b", "fp-c"]
    ctx = mp.get_context("fork")
    barrier = ctx.Barrier(len(fingerprints) + 1)
    procs = [
        ctx.Process(target=_redraw_repeatedly, args=(caltech, cache_dir, fp, barrier)) for fp in fingerprints
    ]
    for p in procs:
        p.start()
    barrier.wait()
    path = fewshot_cache_path(cache_dir, 2, 1)
    while any(p.is_alive() for p in procs):
        if os.path.exists(path):
            with open(path) as f:
                assert json.load(f)["split_fingerprint"] in fingerprints  # each read sees one whole file
    for p in procs:
        p.join()
    assert [p.exitcode for p in procs] == [0, 0, 0]
    assert os.listdir(cache_dir) == ["shot_2-seed_1.json"]  # no temporary files left behind


# --- few-shot subset ------------------------------------------------------------------------


def test_no_shots_returns_the_splits_and_writes_nothing(caltech, tmp_path):
    image_dir, split_path = caltech
    train, val, _ = read_split(split_path, image_dir)
    state = random.getstate()
    out = fewshot_subset(sampler(), train, val, num_shots=-1, seed=1, cache_dir=str(tmp_path / "fs"),
                         path_prefix=image_dir, fingerprint="fp")
    assert out == (train, val) and random.getstate() == state
    assert not (tmp_path / "fs").exists()


def test_subset_equals_dassls_draw_and_is_cached(caltech, tmp_path):
    image_dir, split_path = caltech
    train, val, _ = read_split(split_path, image_dir)
    cache_dir = str(tmp_path / "fs")
    got_train, got_val = draw(train, val, cache_dir, image_dir, shots=3, seed=7)
    state_after = random.getstate()

    random.seed(7)
    want_train = sampler().generate_fewshot_dataset(train, num_shots=3)
    want_val = sampler().generate_fewshot_dataset(val, num_shots=3)
    assert random.getstate() == state_after  # a miss consumes `random` exactly as CoOp's readers do
    assert [i.impath for i in got_train] == [i.impath for i in want_train]
    assert [i.impath for i in got_val] == [i.impath for i in want_val]

    with open(fewshot_cache_path(cache_dir, 3, 7)) as f:
        assert json.load(f)["train"] == datums_to_records(want_train, image_dir)


def test_val_none_draws_train_only_like_coops_imagenet(caltech, tmp_path, capsys):
    image_dir, split_path = caltech
    train, _, _ = read_split(split_path, image_dir)
    got_train, got_val = draw(train, None, str(tmp_path), image_dir, shots=3, seed=5)
    state_after = random.getstate()
    random.seed(5)
    want = sampler().generate_fewshot_dataset(train, num_shots=3)
    assert random.getstate() == state_after and got_val is None
    assert [i.impath for i in got_train] == [i.impath for i in want]
    capsys.readouterr()
    again_train, again_val = draw(train, None, str(tmp_path), image_dir, shots=3, seed=5)
    assert "Loading preprocessed few-shot data" in capsys.readouterr().out
    assert again_val is None and [i.impath for i in again_train] == [i.impath for i in want]


def test_val_keeps_at_most_four_per_class(caltech, tmp_path):
    image_dir, split_path = caltech
    train, val, _ = read_split(split_path, image_dir)
    _, got_val = draw(train, val, str(tmp_path), image_dir, shots=6)
    assert len(got_val) == 5 * 4


def test_unreadable_cache_is_rebuilt(caltech, tmp_path, capsys):
    image_dir, split_path = caltech
    train, val, _ = read_split(split_path, image_dir)
    path = fewshot_cache_path(str(tmp_path), 2, 1)
    with open(path, "w") as f:
        f.write("[1, 2")
    got, _ = draw(train, val, str(tmp_path), image_dir)
    assert "is unreadable" in capsys.readouterr().out and len(got) == 10
    with open(path) as f:
        assert json.load(f)["split_fingerprint"] == "fp"


def test_cache_with_another_fingerprint_is_rebuilt(caltech, tmp_path, capsys):
    image_dir, split_path = caltech
    train, val, _ = read_split(split_path, image_dir)
    draw(train, val, str(tmp_path), image_dir, fingerprint=file_sha256(split_path))
    capsys.readouterr()
    draw(train, val, str(tmp_path), image_dir, fingerprint="other")
    assert "was drawn from a different split; rebuilding it" in capsys.readouterr().out


def test_short_classes_are_refused_with_names_and_counts(caltech):
    image_dir, split_path = caltech
    _, val, _ = read_split(split_path, image_dir)
    require_enough_per_class(val, 4, "val")  # exactly enough is fine
    match = r"Class 'face' \(label 0\) has only 4 val images, fewer than the 5 shots requested \(4 more classes"
    with pytest.raises(ValueError, match=match):
        require_enough_per_class(val, 5, "val")


def test_short_val_class_is_refused_too(caltech, tmp_path):
    image_dir, split_path = caltech
    train, val, _ = read_split(split_path, image_dir)
    val = [item for item in val if item.label != 2][:-1] + [i for i in val if i.label == 2][:3]
    match = r"'motorbike' \(label 2\) has only 3 val images, fewer than the 4 shots"
    with pytest.raises(ValueError, match=match):
        draw(train, val, str(tmp_path), image_dir, shots=4)


# --- base / new classes ---------------------------------------------------------------------


def test_subsample_relabels_in_sorted_order(caltech, capsys):
    image_dir, split_path = caltech
    train, val, test = read_split(split_path, image_dir)
    # Shuffle train so that first-appearance order differs from label order: the cut is on sorted labels.
    random.Random(0).shuffle(train)
    base = subsample_classes(train, val, test, subsample="base")
    new = subsample_classes(train, val, test, subsample="new")
    assert "SUBSAMPLE BASE CLASSES!" in capsys.readouterr().out
    assert {(i.label, i.classname) for i in base[0]} == {(0, "face"), (1, "leopard"), (2, "motorbike")}
    assert {(i.label, i.classname) for i in new[2]} == {(0, "accordion"), (1, "airplane")}
    assert [len(s) for s in base] == [18, 12, 6] and [len(s) for s in new] == [12, 8, 4]
    assert subsample_classes(train, val, test, subsample="all") == (train, val, test)


def test_subsample_rejects_unknown_values():
    with pytest.raises(ValueError, match="must be one of"):
        subsample_classes([], subsample="Base")


# --- helpers shared by the readers and prepare ---------------------------------------------


def test_relative_path_slices_below_the_prefix_and_falls_back_elsewhere(tmp_path):
    from datasets.split_file import relative_path

    assert relative_path("/d/images/a/b.jpg", "/d/images") == "a/b.jpg"
    assert relative_path("/d/images/a/b.jpg", "/d/images/") == "a/b.jpg"
    assert relative_path("/d/other/b.jpg", "/d/images") == "../other/b.jpg"
    assert relative_path("/d/imagesX/b.jpg", "/d/images") == "../imagesX/b.jpg"  # not a prefix match


def test_image_file_problem(tmp_path):
    from datasets.split_file import image_file_problem

    (tmp_path / "ok.jpg").write_bytes(b"x")
    (tmp_path / "empty.jpg").write_bytes(b"")
    (tmp_path / "folder.jpg").mkdir()
    assert image_file_problem(str(tmp_path / "ok.jpg")) is None
    assert image_file_problem(str(tmp_path / "empty.jpg")) == "empty"
    assert image_file_problem(str(tmp_path / "folder.jpg")) == "missing"
    assert image_file_problem(str(tmp_path / "nope.jpg")) == "missing"


def test_locate_misplaced_finds_the_usual_slips(tmp_path):
    from datasets.common import locate_misplaced

    (tmp_path / "food-101" / "food-101" / "images").mkdir(parents=True)
    assert locate_misplaced(str(tmp_path), "food-101", "images") == str(tmp_path / "food-101" / "food-101" / "images")
    (tmp_path / "imagenet" / "train").mkdir(parents=True)
    assert locate_misplaced(str(tmp_path), "imagenet", "images/train") == str(tmp_path / "imagenet" / "train")
    (tmp_path / "2750").mkdir()
    (tmp_path / "eurosat").mkdir()
    assert locate_misplaced(str(tmp_path), "eurosat", "2750") == str(tmp_path / "2750")
    assert locate_misplaced(str(tmp_path), "dtd", "images") is None


def test_finish_splits_without_val_draws_train_only_and_subsamples_train_and_test(caltech, tmp_path):
    from dassl.config import get_cfg_default

    from datasets.common import finish_splits

    image_dir, split_path = caltech
    train, _, test = read_split(split_path, image_dir)
    cfg = get_cfg_default()
    cfg.DATASET.NUM_SHOTS = 2
    cfg.SEED = 4
    cfg.DATASET.SUBSAMPLE_CLASSES = "new"
    random.seed(4)
    got_train, got_test = finish_splits(sampler(), cfg, train, None, test, cache_dir=str(tmp_path),
                                        path_prefix=image_dir, fingerprint="fp")
    random.seed(4)
    drawn = sampler().generate_fewshot_dataset(train, num_shots=2)
    want = subsample_classes(drawn, test, subsample="new")
    assert [(i.impath, i.label) for i in got_train] == [(i.impath, i.label) for i in want[0]]
    assert [(i.impath, i.label) for i in got_test] == [(i.impath, i.label) for i in want[1]]


def test_scan_lists_sorted_and_skips_hidden_entries(tmp_path):
    from datasets.scan import list_dirs, list_files, records_fingerprint, scan_class_folders

    for name in ("b", "a", ".hidden"):
        (tmp_path / name).mkdir()
    for name in ("2.jpg", "10.jpg", ".DS_Store"):
        (tmp_path / "a" / name).write_bytes(b"x")
    assert list_dirs(str(tmp_path)) == ["a", "b"]
    assert list_files(str(tmp_path / "a")) == ["10.jpg", "2.jpg"]
    records = scan_class_folders(str(tmp_path), ["a", "b"], {"a": "cat a", "b": "cat b"}, source="names")
    assert [(os.path.basename(r.impath), r.label, r.classname) for r in records] == [
        ("10.jpg", 0, "cat a"), ("2.jpg", 0, "cat a")
    ]
    fingerprint = records_fingerprint(records, str(tmp_path))
    assert fingerprint == records_fingerprint(list(records), str(tmp_path))
    assert fingerprint != records_fingerprint(records[:1], str(tmp_path))
    with pytest.raises(FileNotFoundError, match=r"Class folder .*/b has no entry in names"):
        scan_class_folders(str(tmp_path), ["a", "b"], {"a": "cat a"}, source="names")

"""datasets/readers/fewshot.py: the few-shot subset is Dassl's draw, cached outside the data; building any
dataset for training or evaluation writes nothing under DATASET.ROOT.

For read-only data: tests run as root here, where ``chmod -R a-w`` does not stop writes, so instead every file under
the data root is snapshotted (path, size, mtime) before and after Dassl's DataManager builds the
dataset, and any attempt to open a file for writing, create, move or delete something under the
root fails the test at the call. Few-shot caches must go to the cache folder instead.
"""
import builtins
import json
import multiprocessing as mp
import os
import random

import pytest
from dassl.data import DataManager
from dassl.data.datasets import DatasetBase

import datasets.readers  # noqa: F401  (registers the readers)
from datasets.catalog import CATALOG
from datasets.readers.fewshot import LEGACY_DIRNAME, fewshot_cache_path, fewshot_subset, require_enough_per_class
from datasets.split_file import (
    datums_to_records,
    file_sha256,
    read_split,
)
from tests.fixtures import dataset_cfg
from tools.synthetic import data as synthetic_data

TEST_SETS = ("imagenetv2", "imagenet_sketch", "imagenet_a", "imagenet_r")


def snapshot(root):
    tree = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            path = os.path.join(dirpath, name)
            st = os.lstat(path)
            tree[path] = (st.st_size, st.st_mtime_ns)
    return tree


@pytest.fixture
def no_writes_under(monkeypatch):
    """``no_writes_under(root)``: from now on, writing anything under ``root`` raises AssertionError."""

    def guard(root):
        root = os.path.realpath(str(root)) + os.sep

        def inside(path):
            if not isinstance(path, (str, os.PathLike)):
                return False  # a file descriptor
            return os.path.realpath(os.fspath(path)).startswith(root)

        def refuse(what, path):
            raise AssertionError(f"{what} under the data root: {path}")

        real_open, real_os_open = builtins.open, os.open

        def checked_open(file, mode="r", *args, **kwargs):
            if inside(file) and any(c in mode for c in "wax+"):
                refuse(f"open(mode={mode!r})", file)
            return real_open(file, mode, *args, **kwargs)

        def checked_os_open(path, flags, *args, **kwargs):
            if inside(path) and flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC):
                refuse("os.open for writing", path)
            return real_os_open(path, flags, *args, **kwargs)

        monkeypatch.setattr(builtins, "open", checked_open)
        monkeypatch.setattr(os, "open", checked_os_open)
        for name in ("mkdir", "makedirs", "remove", "unlink", "rmdir", "replace", "rename"):
            real = getattr(os, name)

            def checked(path, *args, _real=real, _name=name, **kwargs):
                if inside(path) or any(inside(a) for a in args[:1]):
                    refuse(f"os.{_name}", path)
                return _real(path, *args, **kwargs)

            monkeypatch.setattr(os, name, checked)

    return guard


def build_through_data_manager(key, root, shots, seed=1):
    cfg = dataset_cfg(CATALOG[key].name, root, shots, seed)
    cfg.DATALOADER.NUM_WORKERS = 0
    cfg.DATALOADER.TRAIN_X.BATCH_SIZE = 2
    random.seed(seed)
    return DataManager(cfg)


def test_the_guard_catches_a_write(tmp_path, no_writes_under):
    (tmp_path / "data").mkdir()
    no_writes_under(tmp_path / "data")
    with pytest.raises(AssertionError, match="under the data root"):
        open(tmp_path / "data" / "x.json", "w")
    with pytest.raises(AssertionError, match="under the data root"):
        os.makedirs(tmp_path / "data" / "split_fewshot")
    with open(tmp_path / "elsewhere.txt", "w") as f:  # outside the root: allowed
        f.write("ok")


@pytest.mark.parametrize("key", sorted(CATALOG))
def test_building_a_dataset_writes_nothing_into_the_data_root(key, tmp_path, no_writes_under, fewshot_cache):
    root = str(tmp_path / "data")
    synthetic_data.make(key, root, num_classes=4, train_per_class=8, val_per_class=4, test_per_class=4)
    before = snapshot(root)
    no_writes_under(root)
    for seed in (1, 2):  # a miss (cache written) and, for seed 1 again below, a hit
        build_through_data_manager(key, root, shots=2, seed=seed)
    dm = build_through_data_manager(key, root, shots=2, seed=1)
    assert snapshot(root) == before
    if key not in TEST_SETS:  # the subsets went to the cache folder
        cache_dir = dm.dataset.split_fewshot_dir
        assert cache_dir.startswith(str(fewshot_cache) + os.sep)
        assert sorted(os.listdir(cache_dir)) == ["shot_2-seed_1.json", "shot_2-seed_2.json"]


def test_a_cache_of_an_earlier_version_in_the_data_folder_is_read_never_written(tmp_path, no_writes_under,
                                                                                 fewshot_cache, capsys):
    root = str(tmp_path / "data")
    synthetic_data.make("dtd", root)
    first = build_through_data_manager("dtd", root, shots=2).dataset
    # Move the cache where an earlier version wrote it: $DATA/dtd/split_fewshot/.
    legacy = os.path.join(first.dataset_dir, LEGACY_DIRNAME)
    os.makedirs(legacy)
    os.replace(fewshot_cache_path(first.split_fewshot_dir, 2, 1), fewshot_cache_path(legacy, 2, 1))
    # A stale one (another split) next to it must not be rewritten either.
    with open(fewshot_cache_path(legacy, 4, 1), "w") as f:
        json.dump({"split_fingerprint": "another split", "train": [], "val": []}, f)
    before = snapshot(root)
    no_writes_under(root)
    capsys.readouterr()

    again = build_through_data_manager("dtd", root, shots=2).dataset
    assert f"Loading preprocessed few-shot data from {fewshot_cache_path(legacy, 2, 1)}" in capsys.readouterr().out
    assert [i.impath for i in again.train_x] == [i.impath for i in first.train_x]
    four = build_through_data_manager("dtd", root, shots=4).dataset
    out = capsys.readouterr().out
    assert "was drawn from a different split; not used (never rewritten)" in out
    assert f"Saving preprocessed few-shot data to {fewshot_cache_path(four.split_fewshot_dir, 4, 1)}" in out
    assert snapshot(root) == before


def test_an_unwritable_cache_folder_does_not_stop_a_run(tmp_path, monkeypatch, capsys):
    root = str(tmp_path / "data")
    synthetic_data.make("dtd", root)
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the cache folder would be")
    monkeypatch.setenv("LAMM_CACHE_DIR", str(blocker))
    ds = build_through_data_manager("dtd", root, shots=2).dataset
    assert len(ds.train_x) == 2 * 4
    assert "Could not write the few-shot cache" in capsys.readouterr().out


def test_cache_folder_follows_the_environment(monkeypatch, tmp_path):
    from datasets.readers.fewshot import cache_root, fewshot_cache_dir

    monkeypatch.setenv("LAMM_CACHE_DIR", str(tmp_path / "lamm"))
    assert cache_root() == str(tmp_path / "lamm")
    assert fewshot_cache_dir("dtd", "ab" * 32) == str(tmp_path / "lamm" / "fewshot" / "dtd" / ("ab" * 8))
    monkeypatch.delenv("LAMM_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache_root() == str(tmp_path / "xdg" / "lamm")
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert cache_root() == str(tmp_path / "home" / ".cache" / "lamm")


def sampler():
    """A bare DatasetBase: Dassl's generate_fewshot_dataset needs an instance, not its data."""
    return DatasetBase.__new__(DatasetBase)


def draw(train, val, cache_dir, image_dir, fingerprint="fp", shots=2, seed=1):
    random.seed(seed)
    return fewshot_subset(
        sampler(), train, val, num_shots=shots, seed=seed, cache_dir=cache_dir, path_prefix=image_dir,
        fingerprint=fingerprint,
    )


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

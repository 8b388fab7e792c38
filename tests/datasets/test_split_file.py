"""datasets/split_file.py: CoOp's split files read and written, and each way an entry can be wrong."""
import json

import pytest
from dassl.data.datasets import Datum

from datasets.errors import InvalidDatasetError
from datasets.split_file import (
    datums_to_records,
    gdrive_download_hint,
    read_split,
    records_to_datums,
    write_split,
)


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


def _edit_entry(split_path, key, index, label):
    with open(split_path) as f:
        split = json.load(f)
    split[key][index][1] = label
    with open(split_path, "w") as f:
        json.dump(split, f)
    return split[key][index]


@pytest.mark.parametrize("key, index, label", [("test", 3, 99), ("val", 0, -1), ("train", 7, 12)])
def test_a_label_outside_the_train_classes_names_the_file_and_the_entry(caltech, key, index, label):
    image_dir, split_path = caltech
    entry = _edit_entry(split_path, key, index, label)
    message = (f"{split_path}: {key}[{index}] {entry!r} has label {label}, but the labels must be 0..4, one per "
               f"class of the train list (5 classes). Fix that entry or get the split file again.")
    if key == "train":  # the label adds a sixth train class with a gap below it: 0..5 expected
        message = message.replace("0..4", "0..5").replace("(5 classes)", "(6 classes)")
    with pytest.raises(InvalidDatasetError) as raised:
        read_split(split_path, image_dir)
    assert str(raised.value) == message


def test_an_empty_train_list_is_named(caltech):
    image_dir, split_path = caltech
    with open(split_path) as f:
        split = json.load(f)
    split["train"] = []
    with open(split_path, "w") as f:
        json.dump(split, f)
    with pytest.raises(InvalidDatasetError, match=rf"^{split_path}: the train list is empty; "):
        read_split(split_path, image_dir)


def test_a_split_file_this_user_may_not_read_is_named(caltech, monkeypatch):
    """As a user without read access sees it (the tests run as root, where chmod stops nothing)."""
    from datasets import split_file
    from datasets.errors import UnreadableFileError

    image_dir, split_path = caltech

    def unreadable(path, *args, **kwargs):
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(split_file, "open", unreadable, raising=False)
    with pytest.raises(UnreadableFileError, match=rf"^cannot read {split_path} \(Permission denied\): give your user"):
        read_split(split_path, image_dir)

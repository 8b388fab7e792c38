"""datasets/scan.py: class folders listed in a stable order."""
import os

import pytest


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

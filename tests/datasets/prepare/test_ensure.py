"""datasets/prepare/ensure.py: the datasets a sweep needs are there, prepared now, or one clear error.
In-process; datasets.prepare's check and download are replaced, so nothing is fetched."""
import pytest

from datasets.prepare import ensure as prepare_data


def test_a_missing_dataset_that_prepare_can_fetch_is_prepared_once(fake_prepare, capsys):
    prepare_data.ensure_datasets(["caltech101", "caltech101", "my_own_dataset"], "/data")
    assert fake_prepare["prepared"] == ["caltech101"]  # unknown names are left to train.py
    assert "caltech101 is missing under /data: preparing it now" in capsys.readouterr().out
    prepare_data.ensure_datasets(["caltech101"], "/data")
    assert fake_prepare["prepared"] == ["caltech101"]


def test_no_download_names_the_prepare_command(fake_prepare):
    with pytest.raises(prepare_data.DatasetNotReady,
                       match=r"python -m datasets.prepare dtd --root /data` \(downloads are off: --no-download"):
        prepare_data.ensure_datasets(["dtd"], "/data", download=False)
    assert fake_prepare["prepared"] == []


def test_a_dataset_with_manual_steps_prints_them_and_stops(fake_prepare, capsys):
    with pytest.raises(prepare_data.DatasetNotReady, match="ImageNet is not ready .* manual steps printed above"):
        prepare_data.ensure_datasets(["imagenet"], "/data")
    assert "needs steps by hand:\n    1. register" in capsys.readouterr().out and fake_prepare["prepared"] == []


def test_the_real_check_finds_a_dataset_ready_or_missing(caltech_root, tmp_path):
    from datasets.catalog import lookup

    assert prepare_data._check(lookup("caltech101"), caltech_root) is None
    assert "python -m datasets.prepare caltech101 --root" in prepare_data._check(lookup("caltech101"), str(tmp_path))
    with pytest.raises(prepare_data.DatasetNotReady, match="downloads are off"):
        prepare_data.ensure_datasets(["caltech101"], str(tmp_path), download=False)


def test_prepare_runs_in_this_process_with_prepares_defaults(tmp_path, capsys):
    """The real ``_prepare``: the prepare command's functions, not its command line."""
    from tools.synthetic import data as synthetic_data

    root = str(tmp_path / "data")
    synthetic_data.make("dtd", root)
    assert prepare_data._prepare("dtd", root) == 0
    out = capsys.readouterr().out
    assert "present: dtd/images" in out and "Summary: 1 ready, 0 missing, 0 wrong (ready: dtd)" in out


def test_a_root_prepare_cannot_write_is_one_error(tmp_path):
    from lamm.errors import LammError

    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    with pytest.raises(LammError, match=rf"cannot write under {blocker / 'data'} \("):
        prepare_data.ensure_datasets(["dtd"], str(blocker / "data"))

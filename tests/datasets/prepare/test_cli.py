"""``python -m datasets.prepare``: datasets fetched from a local server into CoOp's layout, and ``check``.

Archives are built from the synthetic datasets in the layout of the real archives (DTD's tar
holds ``dtd/``, Caltech's zip holds ``caltech-101/101_ObjectCategories.tar.gz``, FGVC's tar
holds ``fgvc-aircraft-2013b/data/``, ...) and served on 127.0.0.1; gdown is replaced by a
fake that serves the split files. No test contacts a real host.
"""
import dataclasses
import hashlib
import io
import json
import os
import random
import re
import shutil
import tarfile
import zipfile

import pytest
from dassl.config import get_cfg_default
from dassl.data.datasets import DATASET_REGISTRY

import datasets.readers  # noqa: F401  (registers the readers)
from datasets.prepare import cli as prepare
from datasets.catalog import CATALOG, Source
from tests.fixtures import REPO_ROOT
from tools.synthetic import data as synthetic_data


@pytest.fixture
def drive(monkeypatch):
    """A fake gdown: ``drive[file_id] = bytes``; every call is recorded in ``drive.calls``."""
    import gdown

    class Drive(dict):
        calls = []

    files = Drive()

    def fake(id=None, output=None, quiet=False, resume=False, **kwargs):
        files.calls.append(id)
        if id not in files:
            raise RuntimeError("Too many users have viewed or downloaded this file recently.")
        with open(output, "wb") as f:
            f.write(files[id])
        return output

    monkeypatch.setattr(gdown, "download", fake)
    return files


def tar_gz(folder, arcname):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        tar.add(folder, arcname=arcname)
    return buf.getvalue()


def zip_of(entries):
    """entries: {arcname: path or bytes}; folders are added recursively."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for arcname, value in entries.items():
            if isinstance(value, bytes):
                zf.writestr(arcname, value)
            elif os.path.isdir(value):
                for dirpath, _, files in os.walk(value):
                    for name in files:
                        full = os.path.join(dirpath, name)
                        zf.write(full, os.path.join(arcname, os.path.relpath(full, value)))
            else:
                zf.write(value, arcname)
    return buf.getvalue()


def serve(server, info, payloads, *, third_party=None):
    """``info`` with each HTTP download pointed at ``server`` (payloads: {filename: bytes}).

    ``third_party``: {filename: bytes} served as a third-party mirror behind a dead official link.
    """
    downloads = []
    for dl in info.downloads:
        if dl.filename in payloads:
            data = payloads[dl.filename]
            server.files[f"/{dl.filename}"] = data
            dl = dataclasses.replace(dl, sources=(Source(url=server.url(f"/{dl.filename}"),
                                                         md5=hashlib.md5(data).hexdigest()),))
        elif third_party and dl.filename in third_party:
            data = third_party[dl.filename]
            server.files[f"/mirror/{dl.filename}"] = data
            dl = dataclasses.replace(dl, sources=(
                Source(url=server.url(f"/dead/{dl.filename}")),
                Source(url=server.url(f"/mirror/{dl.filename}"), md5=hashlib.md5(data).hexdigest(),
                       third_party="a test mirror"),
            ))
        downloads.append(dl)
    return dataclasses.replace(info, downloads=tuple(downloads))


def run(monkeypatch, infos, *args):
    monkeypatch.setattr(prepare, "resolve", lambda names: infos)
    return prepare.main(list(args))


def load(info, root, shots=-1):
    cfg = get_cfg_default()
    cfg.DATASET.NAME = info.name
    cfg.DATASET.ROOT = str(root)
    cfg.DATASET.NUM_SHOTS = shots
    random.seed(1)
    return DATASET_REGISTRY.get(info.name)(cfg)


def split_bytes(dataset_dir, info):
    with open(os.path.join(dataset_dir, info.split_file), "rb") as f:
        return f.read()


@pytest.fixture
def dtd_source(tmp_path):
    """(archive bytes as dtd-r1.0.1.tar.gz, split bytes) of a synthetic DTD."""
    src = synthetic_data.make_dtd(str(tmp_path / "src"))
    split = split_bytes(src, CATALOG["dtd"])
    os.remove(os.path.join(src, CATALOG["dtd"].split_file))  # the official archive has no CoOp split
    return tar_gz(src, "dtd"), split


# --- prepare ----------------------------------------------------------------------------------


def test_prepare_downloads_verifies_extracts_and_is_idempotent(server, drive, dtd_source, tmp_path, monkeypatch, capsys):
    archive, split = dtd_source
    info = serve(server, CATALOG["dtd"], {"dtd-r1.0.1.tar.gz": archive})
    drive[info.split_gdrive_id] = split
    root = tmp_path / "data"
    assert run(monkeypatch, [info], "dtd", "--root", str(root), "--quiet") == 0
    out = capsys.readouterr().out
    assert "dtd (DescribableTextures)  OK" in out and "Summary: 1 ready" in out
    ds = load(info, root)
    assert ds.classnames == ["banded", "blotchy", "braided", "bubbly"] and len(ds.train_x) == 32
    assert [n for n in os.listdir(root / ".downloads") if not n.endswith(".lock")] == []  # no archive, no staging

    requests = len(server.requests)
    assert run(monkeypatch, [info], "dtd", "--root", str(root), "--quiet") == 0
    assert len(server.requests) == requests and drive.calls == [info.split_gdrive_id]
    assert "present: dtd/images" in capsys.readouterr().out


def test_two_prepares_of_one_dataset_at_once_download_it_once(server, drive, dtd_source, tmp_path, monkeypatch):
    import threading

    archive, split = dtd_source
    info = serve(server, CATALOG["dtd"], {"dtd-r1.0.1.tar.gz": archive})
    drive[info.split_gdrive_id] = split
    root = str(tmp_path / "data")
    opts = prepare.build_parser().parse_args(["dtd", "--root", root, "--quiet"])
    opts.root = root
    reports = []
    threads = [threading.Thread(target=lambda: reports.append(prepare.prepare_dataset(info, opts))) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert [r.ready for r in reports] == [True, True]
    assert [p for p, _ in server.requests] == ["/dtd-r1.0.1.tar.gz"]  # the second waited, then found it in place


def test_interrupted_download_is_resumed_by_the_next_run(server, drive, dtd_source, tmp_path, monkeypatch):
    archive, split = dtd_source
    info = serve(server, CATALOG["dtd"], {"dtd-r1.0.1.tar.gz": archive})
    drive[info.split_gdrive_id] = split
    root = tmp_path / "data"
    os.makedirs(root / ".downloads")
    with open(root / ".downloads" / "dtd-r1.0.1.tar.gz.part", "wb") as f:
        f.write(archive[:1000])  # what a killed run leaves
    assert run(monkeypatch, [info], "dtd", "--root", str(root), "--quiet", "--keep-archives") == 0
    assert server.requests == [("/dtd-r1.0.1.tar.gz", "bytes=1000-")]
    assert (root / ".downloads" / "dtd-r1.0.1.tar.gz").read_bytes() == archive


def test_checksum_mismatch_extracts_nothing_and_says_what_to_do(server, drive, dtd_source, tmp_path, monkeypatch,
                                                               capsys):
    archive, split = dtd_source
    info = serve(server, CATALOG["dtd"], {"dtd-r1.0.1.tar.gz": archive})
    server.files["/dtd-r1.0.1.tar.gz"] = archive[:-10] + b"0123456789"  # the host serves something else
    drive[info.split_gdrive_id] = split
    root = tmp_path / "data"
    assert run(monkeypatch, [info], "dtd", "--root", str(root), "--quiet") == 1
    out = capsys.readouterr().out
    assert "has md5" in out and "not the published file" in out
    assert "dtd (DescribableTextures)  MISSING" in out and "--archives DIR" in out
    assert not (root / "dtd" / "images").exists()


def test_unsafe_archive_is_refused_and_reported(server, drive, dtd_source, tmp_path, monkeypatch, capsys):
    _, split = dtd_source
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        tar.addfile(tarfile.TarInfo("dtd/images"), None)
        evil = tarfile.TarInfo("../../evil.sh")
        evil.size = 4
        tar.addfile(evil, io.BytesIO(b"boom"))
    info = serve(server, CATALOG["dtd"], {"dtd-r1.0.1.tar.gz": buf.getvalue()})
    drive[info.split_gdrive_id] = split
    root = tmp_path / "data"
    assert run(monkeypatch, [info], "dtd", "--root", str(root), "--quiet") == 1
    out = capsys.readouterr().out
    assert "member '../../evil.sh' contains '..'; refusing to extract" in out and "kept for inspection" in out
    assert not (tmp_path / "evil.sh").exists() and not (root / "dtd" / "images").exists()


def test_caltech_zip_with_an_inner_tar(server, drive, tmp_path, monkeypatch):
    src = synthetic_data.make_caltech101(str(tmp_path / "src"))
    inner = tar_gz(os.path.join(src, "101_ObjectCategories"), "101_ObjectCategories")
    archive = zip_of({"caltech-101/101_ObjectCategories.tar.gz": inner, "caltech-101/show_annotation.m": b"%"})
    info = serve(server, CATALOG["caltech101"], {"caltech-101.zip": archive})
    drive[info.split_gdrive_id] = split_bytes(src, info)
    root = tmp_path / "data"
    assert run(monkeypatch, [info], "caltech101", "--root", str(root), "--quiet") == 0
    assert sorted(os.listdir(root / "caltech-101")) == ["101_ObjectCategories", "split_zhou_Caltech101.json"]
    assert load(info, root).classnames == ["face", "leopard", "motorbike", "airplane"]


def test_fgvc_data_folder_becomes_the_dataset_folder(server, tmp_path, monkeypatch):
    src = synthetic_data.make_fgvc_aircraft(str(tmp_path / "src"))
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        tar.add(src, arcname="fgvc-aircraft-2013b/data")
        tar.addfile(tarfile.TarInfo("fgvc-aircraft-2013b/README.md"), io.BytesIO(b""))
    info = serve(server, CATALOG["fgvc_aircraft"], {"fgvc-aircraft-2013b.tar.gz": buf.getvalue()})
    root = tmp_path / "data"
    assert run(monkeypatch, [info], "fgvc_aircraft", "--root", str(root), "--quiet") == 0
    assert load(info, root).classnames == ["707-320", "A300B4", "Cessna 172", "F/A-18"]


def test_sun397_partitions_zip_lands_in_the_dataset_folder(server, drive, tmp_path, monkeypatch):
    src = synthetic_data.make_sun397(str(tmp_path / "src"))
    images = tar_gz(os.path.join(src, "SUN397"), "SUN397")
    partitions = zip_of({f"Partitions/{n}": os.path.join(src, n)
                         for n in ("ClassName.txt", "Training_01.txt", "Testing_01.txt")})
    info = serve(server, CATALOG["sun397"], {"SUN397.tar.gz": images, "Partitions.zip": partitions})
    drive[info.split_gdrive_id] = split_bytes(src, info)
    root = tmp_path / "data"
    assert run(monkeypatch, [info], "sun397", "--root", str(root), "--quiet") == 0
    assert (root / "sun397" / "Training_01.txt").is_file() and (root / "sun397" / "SUN397").is_dir()


def test_third_party_mirror_only_with_mirrors(server, drive, tmp_path, monkeypatch, capsys):
    src = synthetic_data.make_eurosat(str(tmp_path / "src"))
    archive = zip_of({"2750": os.path.join(src, "2750")})
    info = serve(server, CATALOG["eurosat"], {}, third_party={"EuroSAT.zip": archive})
    drive[info.split_gdrive_id] = split_bytes(src, info)
    root = tmp_path / "data"
    assert run(monkeypatch, [info], "eurosat", "--root", str(root), "--quiet") == 1
    out = capsys.readouterr().out
    assert "answered HTTP 404" in out and "add --mirrors to use third-party copies" in out
    assert "/mirror/EuroSAT.zip" not in [p for p, _ in server.requests]

    assert run(monkeypatch, [info], "eurosat", "--root", str(root), "--quiet", "--mirrors") == 0
    assert load(info, root).classnames[0] == "Annual Crop Land"


def test_stanford_cars_manual_steps_then_archives(drive, tmp_path, monkeypatch, capsys):
    src = synthetic_data.make_stanford_cars(str(tmp_path / "src"))
    info = CATALOG["stanford_cars"]
    drive[info.split_gdrive_id] = split_bytes(src, info)
    root = tmp_path / "data"
    assert run(monkeypatch, [info], "stanford_cars", "--root", str(root), "--quiet") == 1
    out = capsys.readouterr().out
    assert "Manual steps:" in out and "offline since 2023" in out and "Third-party copies" in out
    assert (root / "stanford_cars" / "split_zhou_StanfordCars.json").is_file()  # the split still came

    given = tmp_path / "given"
    given.mkdir()
    for folder in ("cars_train", "cars_test"):
        (given / f"{folder}.tgz").write_bytes(tar_gz(os.path.join(src, folder), folder))
    assert run(monkeypatch, [info], "stanford_cars", "--root", str(root), "--quiet", "--archives", str(given)) == 0
    assert (given / "cars_train.tgz").is_file()  # the user's files are not deleted
    assert load(info, root).classnames[0] == "2000 AM General Hummer SUV"


def test_variants_copy_imagenets_classnames(server, drive, tmp_path, monkeypatch):
    root = tmp_path / "data"
    synthetic_data.make_imagenet(str(root), num_classes=2, train_per_class=1, val_per_class=1)
    src = synthetic_data.make_imagenet_a(str(tmp_path / "src"))
    with open(os.path.join(src, "classnames.txt")) as f:
        (root / "imagenet" / "classnames.txt").write_text(f.read())  # all the stand-in classes
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        tar.add(os.path.join(src, "imagenet-a"), arcname="imagenet-a")
    info = serve(server, CATALOG["imagenet_a"], {"imagenet-a.tar": buf.getvalue()})
    assert run(monkeypatch, [info], "imagenet_a", "--root", str(root), "--quiet") == 0
    assert drive.calls == []  # copied, not downloaded
    assert load(info, root).class_ids == synthetic_data.IMAGENET_A_INDICES


def test_imagenet_prints_the_manual_steps_and_fixes_a_flat_val(drive, tmp_path, monkeypatch, capsys):
    root = tmp_path / "data"
    synthetic_data.make_imagenet(str(root), num_classes=3, train_per_class=2, val_per_class=2, flat_val=True)
    info = CATALOG["imagenet"]
    assert run(monkeypatch, [info], "imagenet", "--root", str(root), "--quiet") == 1
    out = capsys.readouterr().out
    assert "imagenet (ImageNet)  WRONG" in out and "holds 6 images directly" in out
    assert "image-net.org" in out and str(root) in out and "$DATA" not in out

    assert run(monkeypatch, [info], "imagenet", "--root", str(root), "--quiet",
               "--fix-val", str(root / "LOC_val_solution.csv")) == 0
    assert "moved 6 val images into wnid folders" in capsys.readouterr().out
    assert len(load(info, root).test) == 6


def test_build_split_when_drive_is_unreachable(drive, tmp_path, monkeypatch, capsys):
    root = tmp_path / "data"
    synthetic_data.make_oxford_pets(str(root))
    os.remove(root / "oxford_pets" / "split_zhou_OxfordPets.json")
    info = CATALOG["oxford_pets"]
    assert run(monkeypatch, [info], "oxford_pets", "--root", str(root), "--quiet", "--build-split") == 0
    out = capsys.readouterr().out
    assert "Google Drive refused" in out and "building split_zhou_OxfordPets.json" in out
    assert "not CoOp's published" in out
    assert load(info, root).classnames[0] == "abyssinian"


def test_a_root_below_a_file_is_one_error_line(tmp_path, capsys):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    assert prepare.main(["dtd", "--root", str(blocker / "data"), "--quiet"]) == 2
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: cannot write under {blocker / 'data'} (")
    assert "Choose a writable --root (or $DATA)" in lines[0] and "Traceback" not in captured.out + captured.err


def test_a_read_only_root_is_one_error_line(tmp_path, monkeypatch, capsys):
    """As a user without write access sees it (the tests run as root, where chmod stops nothing)."""
    root = tmp_path / "data"
    root.mkdir()
    real_makedirs = os.makedirs

    def read_only(path, *args, **kwargs):
        if str(path).startswith(str(root)):
            raise PermissionError(13, "Permission denied", str(path))
        return real_makedirs(path, *args, **kwargs)

    monkeypatch.setattr(os, "makedirs", read_only)
    assert prepare.main(["dtd", "--root", str(root), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err == (f"error: cannot write under {root} (Permission denied: {root / '.downloads'}). Choose a writable "
                   f"--root (or $DATA), or fix the folder's permissions; `python -m datasets.prepare check --root "
                   f"{root}` only reads.\n")


def test_a_root_that_fails_midway_is_one_error_line(drive, tmp_path, monkeypatch, capsys):
    """A write that fails after the first checks (a dataset folder made read-only, a full disk)."""
    root = tmp_path / "data"
    synthetic_data.make_oxford_pets(str(root))
    os.remove(root / "oxford_pets" / "split_zhou_OxfordPets.json")
    drive[CATALOG["oxford_pets"].split_gdrive_id] = b'{"train": [], "val": [], "test": []}'

    def full(*args, **kwargs):
        raise OSError(28, "No space left on device", str(root / "oxford_pets"))

    monkeypatch.setattr(prepare, "install", full)
    assert run(monkeypatch, [CATALOG["oxford_pets"]], "oxford_pets", "--root", str(root), "--quiet") == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: cannot write under {root} (No space left on device: {root / 'oxford_pets'})")
    assert len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("argv, message", [
    (["check", "--root", "ROOT/a-file"], "--root ROOT/a-file is a file, not a folder: give the folder that holds"),
    (["dtd", "--root", ""], "--root is empty: give a folder (without --root: $DATA, else ./data)."),
    (["dtd", "--root", "ROOT/data", "--archives", "ROOT/nowhere"], "--archives ROOT/nowhere is not a folder"),
    (["dtd", "--root", "ROOT/data", "--archives", "ROOT/a-file"], "--archives ROOT/a-file is not a folder"),
    (["imagenet", "--root", "ROOT/data", "--fix-val", "ROOT/nowhere.csv"],
     "--fix-val ROOT/nowhere.csv not found: give LOC_val_solution.csv (Kaggle) or valprep.sh."),
])
def test_options_no_dataset_can_use_are_refused_before_anything_is_fetched(argv, message, tmp_path, drive, capsys):
    (tmp_path / "a-file").write_text("not a folder")
    argv = [a.replace("ROOT", str(tmp_path)) for a in argv]
    assert prepare.main(argv) == 2
    captured = capsys.readouterr()
    assert captured.err.startswith("error: " + message.replace("ROOT", str(tmp_path)))
    assert len(captured.err.strip().splitlines()) == 1 and captured.out == "" and drive.calls == []
    assert not (tmp_path / "data").exists()


def test_check_of_a_file_it_may_not_read_is_one_error_line(tmp_path, monkeypatch, capsys):
    """As a user without read access sees it (the tests run as root, where chmod stops nothing)."""
    from datasets import split_file

    root = tmp_path / "data"
    synthetic_data.make_dtd(str(root))
    split_path = str(root / "dtd" / "split_zhou_DescribableTextures.json")

    def unreadable(path, *args, **kwargs):
        if str(path) == split_path:
            raise PermissionError(13, "Permission denied", str(path))
        return open(path, *args, **kwargs)

    monkeypatch.setattr(split_file, "open", unreadable, raising=False)
    assert prepare.main(["check", "dtd", "--root", str(root)]) == 2
    err = capsys.readouterr().err
    assert err == (f"error: cannot read {split_path} (Permission denied): give your user read access to the "
                   f"datasets under {root}.\n")


def test_list_shows_the_named_datasets_only(capsys):
    assert prepare.main(["list", "dtd", "OxfordPets"]) == 0
    assert [line.split()[0] for line in capsys.readouterr().out.strip().splitlines()] == ["dtd", "oxford_pets"]
    assert prepare.main(["list", "dtdd"]) == 2
    assert "Unknown dataset 'dtdd'" in capsys.readouterr().err


def test_unknown_dataset_name(capsys):
    assert prepare.main(["check", "imagenet-b", "--root", "/nonexistent"]) == 2
    assert "Unknown dataset 'imagenet-b'; choose from: imagenet, caltech101" in capsys.readouterr().err


@pytest.mark.parametrize("argv, line", [
    (["chek"], "error: unknown command or dataset 'chek'; did you mean 'check'?"),
    (["lsit"], "error: unknown command or dataset 'lsit'; did you mean 'list'?"),
    (["caltec101", "--root", "/x"], "error: unknown command or dataset 'caltec101'; did you mean 'caltech101'?"),
    (["OxfordPet"], "error: unknown command or dataset 'OxfordPet'; did you mean 'OxfordPets'?"),
])
def test_a_mistyped_first_word_gets_a_suggestion(argv, line, capsys):
    assert prepare.main(argv) == 2
    assert capsys.readouterr().err == line + "\n"


def test_an_unknown_first_word_without_a_close_match_lists_the_choices(capsys):
    assert prepare.main(["zzzz"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: unknown command or dataset 'zzzz'; commands: check, list; datasets: imagenet, ")


def test_a_mistyped_dataset_after_the_command_is_suggested_too(capsys):
    assert prepare.main(["check", "oxford_pest", "--root", "/nonexistent"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: Unknown dataset 'oxford_pest'") and err.rstrip().endswith("Did you mean 'oxford_pets'?")


def test_names_are_config_or_registered_names():
    assert [i.key for i in prepare.resolve(["OxfordPets", "dtd", "ImageNet-A"])] == ["oxford_pets", "dtd", "imagenet_a"]
    assert len(prepare.resolve(["all"])) == len(CATALOG)


# --- check ------------------------------------------------------------------------------------


def test_check_reports_present_missing_and_wrong(tmp_path, capsys):
    root = tmp_path / "data"
    synthetic_data.make_dtd(str(root))
    synthetic_data.make_food101(str(root))
    os.makedirs(root / "food-101" / "food-101")
    shutil.move(str(root / "food-101" / "images"), str(root / "food-101" / "food-101" / "images"))
    synthetic_data.make_imagenet(str(root), num_classes=2, train_per_class=1, val_per_class=2, flat_val=True)
    synthetic_data.make_eurosat(str(root))
    os.remove(root / "eurosat" / "split_zhou_EuroSAT.json")

    assert prepare.main(["check", "dtd", "food101", "imagenet", "eurosat", "oxford_pets", "--root", str(root)]) == 1
    out = capsys.readouterr().out
    assert "dtd (DescribableTextures)  OK" in out
    assert re.search(r"food101 \(Food101\)  WRONG\n.*food-101/images not found, but .*food-101/food-101/images exists: "
                     r"move it there", out)
    assert "imagenet (ImageNet)  WRONG" in out and "holds 4 images directly" in out
    assert re.search(r"eurosat \(EuroSAT\)  MISSING\n.*split_zhou_EuroSAT\.json not found\. Get it with "
                     r"`python -m datasets\.prepare eurosat", out)
    assert (f"oxford_pets (OxfordPets)  MISSING\n  MISSING  {root}/oxford_pets not found. Get it: "
            f"python -m datasets.prepare oxford_pets --root {root}") in out
    assert "Summary: 1 ready, 2 missing, 2 wrong (ready: dtd)" in out

    assert prepare.main(["check", "dtd", "--root", str(root)]) == 0


def test_check_finds_missing_empty_and_corrupt_images(tmp_path, capsys):
    root = tmp_path / "data"
    synthetic_data.make_ucf101(str(root))
    frames = root / "ucf101" / "UCF-101-midframes" / "Yo_Yo"
    names = sorted(os.listdir(frames))
    os.remove(frames / names[0])
    open(frames / names[1], "w").close()
    assert prepare.main(["check", "ucf101", "--root", str(root)]) == 1
    out = capsys.readouterr().out
    assert "1 of the 64 images listed in split_zhou_UCF101.json are missing" in out
    assert "1 images are empty files" in out

    synthetic_data.make_ucf101(str(root))  # whole again
    (frames / names[2]).write_bytes(b"\xff\xd8\xff\xe0 not a jpeg")
    assert prepare.main(["check", "ucf101", "--root", str(root)]) == 0  # a quick check does not decode
    assert prepare.main(["check", "ucf101", "--root", str(root), "--deep"]) == 1
    assert f"1 images cannot be decoded, e.g. {frames / names[2]}" in capsys.readouterr().out


def test_check_reports_a_broken_split_file_and_coop_pickles(tmp_path, capsys):
    root = tmp_path / "data"
    synthetic_data.make_oxford_flowers(str(root))
    (root / "oxford_flowers" / "split_zhou_OxfordFlowers.json").write_text("<!DOCTYPE html><html>quota</html>")
    os.makedirs(root / "oxford_flowers" / "split_fewshot")
    (root / "oxford_flowers" / "split_fewshot" / "shot_16-seed_1.pkl").write_bytes(b"\x80\x04.")
    assert prepare.main(["check", "oxford_flowers", "--root", str(root)]) == 1
    out = capsys.readouterr().out
    assert "WRONG    Split file" in out and "is not valid JSON" in out
    assert "1 pickle written by CoOp (shot_16-seed_1.pkl ...) are ignored, never loaded" in out


def test_check_imagenet_variants(tmp_path, capsys):
    root = tmp_path / "data"
    synthetic_data.make_imagenetv2(str(root), num_classes=3)
    shutil.rmtree(root / "imagenetv2" / "imagenetv2-matched-frequency-format-val" / "1")
    synthetic_data.make_imagenet_r(str(root))
    os.remove(root / "imagenet-rendition" / "classnames.txt")
    synthetic_data.make_imagenet_sketch(str(root), num_classes=2)
    assert prepare.main(["check", "imagenetv2", "imagenet_r", "imagenet_sketch", "--root", str(root)]) == 1
    out = capsys.readouterr().out
    assert "imagenetv2 (ImageNetV2)  WRONG" in out and "must hold the folders 0..2; missing ['1']" in out
    assert "imagenet_r (ImageNetR)  MISSING" in out and "`python -m datasets.prepare imagenet_r --root" in out
    assert "imagenet_sketch (ImageNetSketch)  OK" in out


# --- the data table ---------------------------------------------------------------------------


def test_list_prints_every_dataset(capsys):
    assert prepare.main(["list"]) == 0
    out = capsys.readouterr().out
    assert len(out.strip().splitlines()) == len(CATALOG) and "stanford_cars" in out and "manual steps" in out


@pytest.mark.parametrize("document", ["docs/DATA.md"])
def test_docs_data_table_is_the_generated_one(document, capsys):
    assert prepare.main(["list", "--markdown"]) == 0
    table = capsys.readouterr().out.strip()
    with open(os.path.join(REPO_ROOT, document)) as f:
        doc = f.read()
    assert table in doc, f"{document} is out of date: paste the output of `python -m datasets.prepare list --markdown`"


def test_check_names_a_split_entry_whose_label_is_out_of_range(tmp_path, capsys):
    root = tmp_path / "data"
    synthetic_data.make_dtd(str(root))
    split_path = root / "dtd" / "split_zhou_DescribableTextures.json"
    split = json.loads(split_path.read_text())
    split["test"][2][1] = 47
    split_path.write_text(json.dumps(split))
    assert prepare.main(["check", "dtd", "--root", str(root)]) == 1
    out = capsys.readouterr().out
    assert "dtd (DescribableTextures)  WRONG" in out
    assert f"{split_path}: test[2] {split['test'][2]!r} has label 47, but the labels must be 0..3" in out


def test_check_points_out_kaggles_nested_cars_folders(tmp_path, capsys):
    root = tmp_path / "data"
    synthetic_data.make_stanford_cars(str(root))
    outer = root / "stanford_cars" / "cars_train"
    shutil.move(str(outer), str(tmp_path / "cars_train"))
    outer.mkdir()
    shutil.move(str(tmp_path / "cars_train"), str(outer / "cars_train"))
    assert prepare.main(["check", "stanford_cars", "--root", str(root)]) == 1
    out = capsys.readouterr().out
    assert "48 of the 64 images listed in split_zhou_StanfordCars.json are missing" in out
    assert re.search(r"exists as .*cars_train/cars_train/\d+\.jpg: that folder is nested one level too deep", out)

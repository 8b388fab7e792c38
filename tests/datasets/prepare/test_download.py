"""Downloading, verifying and extracting: a local HTTP server on 127.0.0.1 and a mocked gdown.

No test contacts a real host.
"""
import hashlib
import io
import os
import tarfile
import zipfile

import pytest

from datasets.prepare import download
from datasets.prepare.download import (
    DownloadError,
    UnsafeArchiveError,
    gdrive_download,
    http_download,
    merge_move,
    safe_extract,
    verify,
)

PAYLOAD = bytes(range(256)) * 4096  # 1 MiB


# --- HTTP -------------------------------------------------------------------------------------


def test_download_writes_the_file_and_no_part(server, tmp_path):
    server.files["/a.bin"] = PAYLOAD
    dest = str(tmp_path / "a.bin")
    assert http_download(server.url("/a.bin"), dest, quiet=True) == dest
    assert open(dest, "rb").read() == PAYLOAD
    assert not os.path.exists(dest + ".part")


def test_dead_link_is_an_error_naming_the_url(server, tmp_path):
    with pytest.raises(DownloadError, match=r"/gone\.tgz answered HTTP 404"):
        http_download(server.url("/gone.tgz"), str(tmp_path / "gone.tgz"), quiet=True)
    assert not os.path.exists(tmp_path / "gone.tgz")


def test_partial_file_is_resumed_with_a_range_request(server, tmp_path):
    server.files["/a.bin"] = PAYLOAD
    dest = str(tmp_path / "a.bin")
    with open(dest + ".part", "wb") as f:
        f.write(PAYLOAD[:300000])
    http_download(server.url("/a.bin"), dest, quiet=True)
    assert server.requests == [("/a.bin", "bytes=300000-")]
    assert open(dest, "rb").read() == PAYLOAD


def test_server_ignoring_the_range_restarts_the_file(server, tmp_path):
    server.files["/a.bin"] = PAYLOAD
    server.ignore_range.add("/a.bin")
    dest = str(tmp_path / "a.bin")
    with open(dest + ".part", "wb") as f:
        f.write(b"garbage" * 1000)
    http_download(server.url("/a.bin"), dest, quiet=True)
    assert open(dest, "rb").read() == PAYLOAD


def test_dropped_connection_is_resumed(server, tmp_path):
    server.files["/a.bin"] = PAYLOAD
    server.interrupt_once.add("/a.bin")
    dest = str(tmp_path / "a.bin")
    http_download(server.url("/a.bin"), dest, quiet=True)
    assert open(dest, "rb").read() == PAYLOAD
    assert len(server.requests) == 2 and server.requests[1][1] == f"bytes={len(PAYLOAD) // 2}-"


def test_complete_part_file_is_accepted(server, tmp_path):
    server.files["/a.bin"] = PAYLOAD
    dest = str(tmp_path / "a.bin")
    with open(dest + ".part", "wb") as f:
        f.write(PAYLOAD)
    http_download(server.url("/a.bin"), dest, quiet=True)  # 416: nothing left to fetch
    assert open(dest, "rb").read() == PAYLOAD


def test_unreachable_host_keeps_the_part_for_the_next_run(tmp_path, monkeypatch):
    monkeypatch.setattr(download, "RETRY_DELAY", 0.0)
    dest = str(tmp_path / "a.bin")
    with open(dest + ".part", "wb") as f:
        f.write(b"123")
    with pytest.raises(DownloadError, match=r"Could not download .* partial file .*a\.bin\.part is kept"):
        http_download("http://127.0.0.1:9/a.bin", dest, retries=2, timeout=2, quiet=True)
    assert open(dest + ".part", "rb").read() == b"123"


def test_a_host_that_cannot_be_reached_is_named_as_such(tmp_path, monkeypatch):
    monkeypatch.setattr(download, "RETRY_DELAY", 0.0)
    with pytest.raises(DownloadError) as raised:
        http_download("http://127.0.0.1:9/a.bin", str(tmp_path / "a.bin"), retries=1, timeout=2, quiet=True)
    message = str(raised.value)
    assert message.startswith("Could not download http://127.0.0.1:9/a.bin: no connection to 127.0.0.1 "
                              "(the connection was refused)")
    assert "Get the file by hand on a machine that can reach 127.0.0.1" in message


# --- checksums ----------------------------------------------------------------------------------


def test_verify_accepts_the_published_checksum(tmp_path):
    path = tmp_path / "f"
    path.write_bytes(b"data")
    verify(str(path), md5=hashlib.md5(b"data").hexdigest(), sha256=hashlib.sha256(b"data").hexdigest())
    verify(str(path))  # nothing published: nothing to check


def test_verify_moves_a_mismatch_aside(tmp_path):
    path = tmp_path / "f.tgz"
    path.write_bytes(b"data")
    with pytest.raises(DownloadError, match=r"f\.tgz has md5 .*, expected 0+: it is not the published file"):
        verify(str(path), md5="0" * 32)
    assert not path.exists() and (tmp_path / "f.tgz.bad").exists()


# --- Google Drive (gdown mocked) ------------------------------------------------------------


def test_gdrive_download_uses_gdown_with_resume(tmp_path, monkeypatch):
    import gdown

    calls = []

    def fake(**kwargs):
        calls.append(kwargs)
        with open(kwargs["output"], "w") as f:
            f.write('{"train": [], "val": [], "test": []}')
        return kwargs["output"]

    monkeypatch.setattr(gdown, "download", fake)
    dest = str(tmp_path / "sub" / "split.json")
    gdrive_download("FILEID", dest, quiet=True)
    assert calls[0]["id"] == "FILEID" and calls[0]["resume"] is True
    assert open(dest).read().startswith('{"train"') and not os.path.exists(dest + ".part")


def test_gdrive_quota_page_is_refused(tmp_path, monkeypatch):
    import gdown

    def fake(**kwargs):
        with open(kwargs["output"], "w") as f:
            f.write("<!DOCTYPE html><html>Too many users have viewed or downloaded this file</html>")
        return kwargs["output"]

    monkeypatch.setattr(gdown, "download", fake)
    dest = str(tmp_path / "split.json")
    with pytest.raises(DownloadError, match=r"returned a web page instead of .*FILEID"):
        gdrive_download("FILEID", dest, quiet=True)
    assert not os.listdir(tmp_path)


def test_gdrive_error_is_explained(tmp_path, monkeypatch):
    import gdown

    def fake(**kwargs):
        raise RuntimeError("Cannot retrieve the public link of the file.")

    monkeypatch.setattr(gdown, "download", fake)
    with pytest.raises(DownloadError, match=r"Google Drive refused .*FILEID.*Cannot retrieve.*in a browser"):
        gdrive_download("FILEID", str(tmp_path / "x.json"), quiet=True)


def test_gdrive_without_a_connection_is_not_blamed_on_drives_limit(tmp_path, monkeypatch):
    """The real gdown and requests, sent through a proxy at a closed local port: nothing reaches Drive."""
    for name in ("HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTPS_PROXY", "http://127.0.0.1:9")
    monkeypatch.setenv("NO_PROXY", "")
    with pytest.raises(DownloadError) as raised:
        gdrive_download("FILEID", str(tmp_path / "x.json"), quiet=True)
    message = str(raised.value)
    assert message.startswith("Could not fetch https://drive.google.com/file/d/FILEID/view: no connection to "
                              "drive.google.com (the connection was refused)")
    assert "by hand on a machine that can reach drive.google.com" in message
    assert "limit" not in message and "refused https" not in message
    assert not os.listdir(tmp_path)


def test_gdrive_name_resolution_failure_says_so(tmp_path, monkeypatch):
    import gdown
    import requests

    def fake(**kwargs):
        raise requests.exceptions.ConnectionError(
            "HTTPSConnectionPool(host='drive.google.com', port=443): Max retries exceeded with url: /uc?id=FILEID "
            "(Caused by NameResolutionError(\"Failed to resolve 'drive.google.com' ([Errno -2] Name or service not "
            "known)\"))")

    monkeypatch.setattr(gdown, "download", fake)
    with pytest.raises(DownloadError, match=r"no connection to drive\.google\.com \(its name cannot be resolved\)"):
        gdrive_download("FILEID", str(tmp_path / "x.json"), quiet=True)


def test_gdown_is_given_a_timeout(tmp_path, monkeypatch):
    import gdown

    calls = []

    def fake(id=None, output=None, quiet=False, resume=False, timeout=None):
        calls.append(timeout)
        raise RuntimeError("Cannot retrieve the public link of the file.")

    monkeypatch.setattr(gdown, "download", fake)
    with pytest.raises(DownloadError):
        gdrive_download("FILEID", str(tmp_path / "x.json"), quiet=True)
    assert calls == [download.GDRIVE_TIMEOUT]


# --- safe extraction --------------------------------------------------------------------------


def _tar(path, members, mode="w:gz"):
    """members: [(name, kind, data_or_target)] with kind file/dir/symlink/hardlink/fifo."""
    with tarfile.open(path, mode) as tar:
        for name, kind, value in members:
            info = tarfile.TarInfo(name)
            if kind == "file":
                info.size = len(value)
                tar.addfile(info, io.BytesIO(value))
                continue
            info.type = {"dir": tarfile.DIRTYPE, "symlink": tarfile.SYMTYPE, "hardlink": tarfile.LNKTYPE,
                         "fifo": tarfile.FIFOTYPE, "chr": tarfile.CHRTYPE}[kind]
            if kind in ("symlink", "hardlink"):
                info.linkname = value
            tar.addfile(info)
    return str(path)


def _zip(path, members):
    with zipfile.ZipFile(path, "w") as zf:
        for name, kind, value in members:
            if kind == "symlink":
                info = zipfile.ZipInfo(name)
                info.external_attr = (0o120777 << 16)
                zf.writestr(info, value)
            else:
                zf.writestr(name, value)
    return str(path)


def test_tar_extracts_files_folders_and_inner_links(tmp_path):
    archive = _tar(tmp_path / "a.tar.gz", [
        ("top", "dir", None), ("top/a/x.jpg", "file", b"x"), ("top/b.txt", "file", b"b"),
        ("top/link.jpg", "symlink", "a/x.jpg"), ("top/hard.jpg", "hardlink", "top/a/x.jpg"),
    ])
    dest = tmp_path / "out"
    safe_extract(archive, str(dest))
    assert (dest / "top" / "a" / "x.jpg").read_bytes() == b"x"
    assert (dest / "top" / "link.jpg").read_bytes() == b"x" and (dest / "top" / "hard.jpg").read_bytes() == b"x"


def test_zip_extracts(tmp_path):
    archive = _zip(tmp_path / "a.zip", [("top/a/x.jpg", "file", b"x"), ("top/inner", "symlink", "a/x.jpg")])
    safe_extract(archive, str(tmp_path / "out"))
    assert (tmp_path / "out" / "top" / "a" / "x.jpg").read_bytes() == b"x"
    assert (tmp_path / "out" / "top" / "inner").read_bytes() == b"x"


@pytest.mark.parametrize("members, match", [
    ([("/etc/evil", "file", b"x")], "absolute path"),
    ([("top/../../evil", "file", b"x")], r"contains '\.\.'"),
    ([("top/link", "symlink", "../../evil")], "points outside"),
    ([("top/link", "symlink", "/etc/passwd")], "points outside"),
    ([("top/x", "file", b"x"), ("top/hard", "hardlink", "../outside")], r"contains '\.\.'|points outside"),
    ([("top/hard", "hardlink", "/etc/passwd")], "points outside"),
    ([("top/pipe", "fifo", None)], "device or pipe"),
    ([("top/dev", "chr", None)], "device or pipe"),
])
def test_unsafe_tar_members_are_refused(tmp_path, members, match):
    archive = _tar(tmp_path / "bad.tar", members, mode="w")
    dest = tmp_path / "sandbox" / "out"
    with pytest.raises(UnsafeArchiveError, match=match):
        safe_extract(archive, str(dest))
    assert sorted(os.listdir(tmp_path)) == ["bad.tar", "sandbox"]
    assert os.listdir(tmp_path / "sandbox") == ["out"]


def test_tar_link_inside_the_destination_is_followed(tmp_path):
    archive = _tar(tmp_path / "bad.tar", [("d", "symlink", "."), ("d/ok", "file", b"x")], mode="w")
    safe_extract(archive, str(tmp_path / "out"))  # a link inside the destination is fine
    assert (tmp_path / "out" / "ok").read_bytes() == b"x"


@pytest.mark.parametrize("members, match", [
    ([("../evil", "file", b"x")], r"contains '\.\.'"),
    ([("/abs/evil", "file", b"x")], "absolute path"),
    ([("top/link", "symlink", "../../etc/passwd")], "points outside"),
])
def test_unsafe_zip_members_are_refused(tmp_path, members, match):
    archive = _zip(tmp_path / "bad.zip", members)
    with pytest.raises(UnsafeArchiveError, match=match):
        safe_extract(archive, str(tmp_path / "sandbox"))
    assert sorted(os.listdir(tmp_path)) == ["bad.zip", "sandbox"]


def test_not_an_archive(tmp_path):
    path = tmp_path / "x.tar.gz"
    path.write_bytes(b"<html>not found</html>")
    with pytest.raises(DownloadError, match="neither a tar nor a zip"):
        safe_extract(str(path), str(tmp_path / "out"))


def test_merge_move_keeps_existing_files(tmp_path):
    (tmp_path / "src" / "images").mkdir(parents=True)
    (tmp_path / "src" / "images" / "a.jpg").write_bytes(b"new")
    (tmp_path / "src" / "images" / "b.jpg").write_bytes(b"new")
    (tmp_path / "dst" / "images").mkdir(parents=True)
    (tmp_path / "dst" / "images" / "a.jpg").write_bytes(b"old")
    (tmp_path / "dst" / "split.json").write_bytes(b"{}")
    assert merge_move(str(tmp_path / "src"), str(tmp_path / "dst")) == 1
    assert (tmp_path / "dst" / "images" / "a.jpg").read_bytes() == b"old"
    assert (tmp_path / "dst" / "images" / "b.jpg").read_bytes() == b"new"
    assert not (tmp_path / "src").exists()

"""Fetching and unpacking dataset files: resumable HTTP, Google Drive, checksums, safe extraction."""
import hashlib
import os
import shutil
import stat
import sys
import tarfile
import time
import urllib.error
import urllib.parse
import urllib.request
import zipfile

from lamm.errors import DatasetError

CHUNK = 1 << 20
RETRY_DELAY = 1.0  # seconds before the first retry; doubles per attempt (tests set 0)
USER_AGENT = "lamm-datasets/1.0 (+https://github.com/KaiyangZhou/CoOp-compatible data preparation)"


GDRIVE_TIMEOUT = 60  # seconds gdown waits for Drive to connect or send data (as http_download's default)


class DownloadError(DatasetError):
    """A file could not be fetched, or what was fetched is not the expected file."""


def connection_problem(error):
    """Why a host could not be reached (no network, no DNS, refused, no answer), or None for other errors."""
    text = f"{error} {error.__cause__ or ''} {error.__context__ or ''}"
    if any(s in text for s in ("Failed to resolve", "Name or service not known", "name resolution",
                               "nodename nor servname", "getaddrinfo failed")):
        return "its name cannot be resolved"
    if "refused" in text.lower():
        return "the connection was refused"
    if any(s in text.lower() for s in ("timed out", "timeout")):
        return "it did not answer in time"
    if "unreachable" in text.lower():
        return "the network is unreachable"
    try:
        import requests

        if isinstance(error, (requests.exceptions.ConnectionError, requests.exceptions.Timeout)):
            return "the connection failed"
    except ImportError:
        pass
    if isinstance(error, (urllib.error.URLError, ConnectionError, TimeoutError)) and not isinstance(
            error, urllib.error.HTTPError):
        return "the connection failed"
    return None


def unreachable_message(host, problem):
    return (f"no connection to {host} ({problem}): this machine has no network access to it, or a firewall or "
            f"proxy blocks it. Get the file by hand on a machine that can reach {host}")


class UnsafeArchiveError(DatasetError):
    """An archive member would be written outside the destination, or is not a plain file/folder/link."""


def _progress(done, total, started, label):
    if not sys.stderr.isatty():
        return
    rate = done / max(time.time() - started, 1e-6) / 1e6
    share = f"{100 * done / total:5.1f}% of {total / 1e6:.1f} MB" if total else f"{done / 1e6:.1f} MB"
    sys.stderr.write(f"\r  {label}: {share} ({rate:.1f} MB/s)")
    sys.stderr.flush()


def http_download(url, dest, *, timeout=60, retries=3, quiet=False):
    """Download ``url`` to ``dest``, resuming ``dest + '.part'`` when it exists."""
    part = dest + ".part"
    os.makedirs(os.path.dirname(os.path.abspath(dest)), exist_ok=True)
    label = os.path.basename(dest)
    last_error = None
    for attempt in range(1, retries + 1):
        offset = os.path.getsize(part) if os.path.exists(part) else 0
        headers = {"User-Agent": USER_AGENT}
        if offset:
            headers["Range"] = f"bytes={offset}-"
        request = urllib.request.Request(url, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                if offset and response.status == 206:
                    mode, done = "ab", offset
                    if not quiet:
                        print(f"  resuming {label} at {offset / 1e6:.1f} MB")
                else:
                    mode, done = "wb", 0  # 200: the server sends the whole file
                length = response.headers.get("Content-Length")
                total = done + int(length) if length is not None else None
                started = time.time()
                with open(part, mode) as f:
                    while True:
                        block = response.read(CHUNK)
                        if not block:
                            break
                        f.write(block)
                        done += len(block)
                        if not quiet:
                            _progress(done, total, started, label)
                if not quiet and sys.stderr.isatty():
                    sys.stderr.write("\n")
                if total is not None and done < total:
                    raise ConnectionError(f"connection closed after {done} of {total} bytes")
            os.replace(part, dest)
            return dest
        except urllib.error.HTTPError as e:
            if e.code == 416 and offset:  # the range starts at the end: the part is complete
                os.replace(part, dest)
                return dest
            raise DownloadError(f"{url} answered HTTP {e.code} ({e.reason}).") from e
        except (urllib.error.URLError, ConnectionError, TimeoutError, OSError) as e:
            last_error = e
            if not quiet:
                print(f"  {label}: {e}; {'retrying' if attempt < retries else 'giving up'}")
            if attempt < retries:
                time.sleep(min(RETRY_DELAY * 2 ** (attempt - 1), 10))
    kept = f" The partial file {part} is kept: run the same command again to resume." if os.path.exists(part) else ""
    problem = connection_problem(last_error)
    if problem:
        host = urllib.parse.urlsplit(url).hostname
        raise DownloadError(f"Could not download {url}: {unreachable_message(host, problem)}.{kept}")
    raise DownloadError(f"Could not download {url} ({last_error}).{kept}")


def _looks_like_html(path):
    with open(path, "rb") as f:
        head = f.read(512).lstrip().lower()
    return head.startswith((b"<!doctype html", b"<html"))


def gdrive_download(file_id, dest, *, quiet=False):
    """Download Google Drive file ``file_id`` to ``dest`` with gdown (resuming a partial download)."""
    try:
        import gdown
    except ImportError as e:
        raise DownloadError(
            f"gdown is needed to fetch Google Drive file {file_id}: pip install gdown (it is in requirements.txt)."
        ) from e
    os.makedirs(os.path.dirname(os.path.abspath(dest)), exist_ok=True)
    part = dest + ".part"
    page = f"https://drive.google.com/file/d/{file_id}/view"
    options = {"id": file_id, "output": part, "quiet": quiet, "resume": True}
    if _accepts(gdown.download, "timeout"):  # gdown >= 5.2; older versions wait without a bound
        options["timeout"] = GDRIVE_TIMEOUT
    try:
        result = gdown.download(**options)
    except Exception as e:  # gdown raises its own error types (quota, permission) and requests errors
        problem = connection_problem(e)
        if problem:
            raise DownloadError(f"Could not fetch {page}: {unreachable_message('drive.google.com', problem)} "
                                f"(open the link in a browser there).") from e
        raise DownloadError(
            f"Google Drive refused {page} ({type(e).__name__}: {e}); Drive limits the downloads of a file per day, "
            f"so try again later or download it in a browser.") from e
    if not result or not os.path.isfile(part):
        raise DownloadError(f"gdown did not download {page}; download it in a browser.")
    if _looks_like_html(part):
        os.remove(part)
        raise DownloadError(
            f"Google Drive returned a web page instead of {page} (quota exceeded or no access); try again later or "
            f"download it in a browser.")
    os.replace(part, dest)
    return dest


def _accepts(function, name):
    import inspect

    try:
        parameters = inspect.signature(function).parameters
    except (TypeError, ValueError):
        return False
    return name in parameters or any(p.kind is p.VAR_KEYWORD for p in parameters.values())


def file_digest(path, algorithm):
    digest = hashlib.new(algorithm)
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(CHUNK), b""):
            digest.update(block)
    return digest.hexdigest()


def verify(path, *, md5="", sha256=""):
    """Check ``path`` against the given checksums; a mismatch renames it to ``<path>.bad`` and raises."""
    for algorithm, expected in (("md5", md5), ("sha256", sha256)):
        if not expected:
            continue
        actual = file_digest(path, algorithm)
        if actual != expected.lower():
            bad = path + ".bad"
            os.replace(path, bad)
            raise DownloadError(
                f"{os.path.basename(path)} has {algorithm} {actual}, expected {expected}: it is not the published "
                f"file (corrupted or changed at the source). It was moved to {bad}; run again to download it anew.")


def _inside(base, path):
    base = os.path.realpath(base)
    path = os.path.realpath(path)
    return path == base or path.startswith(base + os.sep)


def _check_name(name, archive):
    normalized = name.replace("\\", "/")
    if normalized.startswith("/") or (len(normalized) > 1 and normalized[1] == ":"):
        raise UnsafeArchiveError(f"{archive}: member {name!r} has an absolute path; refusing to extract.")
    if ".." in normalized.split("/"):
        raise UnsafeArchiveError(f"{archive}: member {name!r} contains '..'; refusing to extract.")


def _check_target(dest, name, archive):
    target = os.path.join(dest, name)
    if not _inside(dest, target):
        raise UnsafeArchiveError(f"{archive}: member {name!r} would be written outside {dest} (through a link).")
    return target


def _extract_tar(archive, dest):
    with tarfile.open(archive, "r:*") as tar:
        for member in tar:  # one pass: members are checked and written as the stream is read
            _check_name(member.name, archive)
            target = _check_target(dest, member.name, archive)
            if member.issym() or member.islnk():
                base = os.path.dirname(target) if member.issym() else dest
                link_target = os.path.join(base, member.linkname)
                if os.path.isabs(member.linkname) or not _inside(dest, link_target):
                    raise UnsafeArchiveError(
                        f"{archive}: link {member.name!r} -> {member.linkname!r} points outside {dest}; refusing to "
                        f"extract.")
            elif not (member.isfile() or member.isdir()):
                raise UnsafeArchiveError(f"{archive}: member {member.name!r} is a device or pipe; refusing to extract.")
            if hasattr(tarfile, "data_filter"):
                tar.extract(member, dest, filter="data")  # also drops setuid bits and odd modes
            else:  # Python < 3.11.4: the checks above are the guard
                tar.extract(member, dest)


def _extract_zip(archive, dest):
    with zipfile.ZipFile(archive) as zf:
        for info in zf.infolist():
            _check_name(info.filename, archive)
            target = _check_target(dest, info.filename, archive)
            mode = info.external_attr >> 16
            if stat.S_ISLNK(mode):
                link = zf.read(info).decode("utf-8")
                if os.path.isabs(link) or not _inside(dest, os.path.join(os.path.dirname(target), link)):
                    raise UnsafeArchiveError(
                        f"{archive}: link {info.filename!r} -> {link!r} points outside {dest}; refusing to extract.")
                os.makedirs(os.path.dirname(target), exist_ok=True)
                os.symlink(link, target)
            else:
                zf.extract(info, dest)


def archive_kind(path):
    if zipfile.is_zipfile(path):
        return "zip"
    if tarfile.is_tarfile(path):
        return "tar"
    return None


def safe_extract(archive, dest):
    """Extract a tar (any compression) or zip archive into ``dest`` after checking each member."""
    os.makedirs(dest, exist_ok=True)
    kind = archive_kind(archive)
    if kind == "zip":
        _extract_zip(archive, dest)
    elif kind == "tar":
        _extract_tar(archive, dest)
    else:
        raise DownloadError(f"{archive} is neither a tar nor a zip archive (a truncated or wrong download?).")


def merge_move(src, dst):
    """Move ``src`` to ``dst``; when both are folders, move the content in and keep existing files."""
    if not os.path.lexists(dst):
        os.makedirs(os.path.dirname(dst) or ".", exist_ok=True)
        os.replace(src, dst)
        return 0
    if os.path.isdir(src) and os.path.isdir(dst) and not os.path.islink(src):
        kept = 0
        for name in os.listdir(src):
            kept += merge_move(os.path.join(src, name), os.path.join(dst, name))
        shutil.rmtree(src, ignore_errors=True)
        return kept
    return 1

"""Download, lay out and check the datasets, in CoOp's folder layout."""
import argparse
import difflib
import errno
import os
import shutil
import sys

from lamm.errors import DatasetError, LammError
from lamm.files import FileLock, atomic_write_text

from ..catalog import CATALOG, lookup, missing_split_hint
from ..errors import InvalidDatasetError
from ..split_file import SPLIT_NAMES, read_json_file
from .builders import build_split
from .check import check_dataset, summary
from .download import DownloadError, gdrive_download, http_download, merge_move, safe_extract, verify

DOWNLOADS_DIRNAME = ".downloads"
COMMANDS = ("check", "list")


def default_root():
    return os.environ.get("DATA") or "./data"


def _did_you_mean(word, choices):
    close = difflib.get_close_matches(word.lower(), list(choices), n=1)
    return f" Did you mean {close[0]!r}?" if close else ""


class UnknownWordError(InvalidDatasetError):
    """The first word is neither a command nor a dataset (``prepare chek``)."""


def check_first_word(word):
    """Refuse a first word that is neither a command, a dataset nor ``all``, suggesting the closest one."""
    if word in COMMANDS or word == "all" or lookup(word) is not None:
        return
    choices = [*COMMANDS, *CATALOG, *(info.name for info in CATALOG.values())]
    close = difflib.get_close_matches(word, choices, n=1) or difflib.get_close_matches(word.lower(), choices, n=1)
    hint = (f"did you mean {close[0]!r}?" if close else
            f"commands: {', '.join(COMMANDS)}; datasets: {', '.join(CATALOG)} (or all)")
    raise UnknownWordError(f"unknown command or dataset {word!r}; {hint}")


def resolve(names):
    """DatasetInfos for the given names ("all" or none = every dataset), in catalog order."""
    if not names or "all" in names:
        return list(CATALOG.values())
    infos = []
    for name in names:
        info = lookup(name)
        if info is None:
            raise InvalidDatasetError(
                f"Unknown dataset {name!r}; choose from: {', '.join(CATALOG)} (or all).{_did_you_mean(name, CATALOG)}")
        if info not in infos:
            infos.append(info)
    return infos


def _validate(dl, path):
    """Refuse what is plainly not the expected file (Drive's web page instead of a split, ...)."""
    if dl.is_archive:
        return
    with open(path, "rb") as f:
        head = f.read(512).lstrip().lower()
    if head.startswith((b"<!doctype html", b"<html")):
        raise DownloadError(f"{dl.filename}: got a web page instead of the file.")
    try:
        if dl.what == "split":
            split = read_json_file(path, what="Split file")
            if not isinstance(split, dict) or any(not isinstance(split.get(k), list) for k in SPLIT_NAMES):
                raise DownloadError(f"{dl.filename} is not a CoOp split file (no train/val/test lists).")
        elif dl.filename.endswith(".json"):
            read_json_file(path, what=dl.filename)
        elif dl.what == "classnames":
            from ..official_lists import read_classnames

            read_classnames(path)
    except LammError as e:
        if isinstance(e, DownloadError):
            raise
        raise DownloadError(f"{dl.filename}: {e}") from e


def _matches_any_checksum(dl, path):
    """For a file given with --archives: verified against a known checksum of any of its sources."""
    sums = [s for s in dl.sources if s.md5 or s.sha256]
    if not sums:
        return True
    from .download import file_digest

    digests = {}
    for source in sums:
        for algorithm, expected in (("md5", source.md5), ("sha256", source.sha256)):
            if expected:
                digests.setdefault(algorithm, file_digest(path, algorithm))
                if digests[algorithm] == expected:
                    return True
    return False


def obtain(dl, root, opts):
    """Path of the file ``dl`` (given by the user, left by an earlier run, or downloaded now)."""
    problems = []
    if opts.archives:
        given = os.path.join(opts.archives, dl.filename)
        if os.path.isfile(given):
            try:
                if not _matches_any_checksum(dl, given):
                    raise DownloadError(f"{given} does not match the published checksum")
                _validate(dl, given)
                print(f"  using {given}")
                return given, False, problems
            except DownloadError as e:
                problems.append(f"{e}; not used")
    downloads = os.path.join(root, DOWNLOADS_DIRNAME)
    dest = os.path.join(downloads, dl.filename)
    if os.path.isfile(dest):  # from an earlier run that stopped before extracting it
        if _matches_any_checksum(dl, dest):
            print(f"  using {dest} from an earlier run")
            return dest, True, problems
        os.remove(dest)
    for source in dl.sources:
        if source.third_party and not opts.mirrors:
            problems.append(f"not tried: {source.describe()} (add --mirrors to use third-party copies)")
            continue
        print(f"  downloading {dl.filename} from {source.describe()}")
        try:
            if source.gdrive_id:
                gdrive_download(source.gdrive_id, dest, quiet=opts.quiet)
            else:
                http_download(source.url, dest, quiet=opts.quiet)
            verify(dest, md5=source.md5, sha256=source.sha256)
            _validate(dl, dest)
            return dest, True, problems
        except DownloadError as e:
            if os.path.isfile(dest):
                os.remove(dest)
            problems.append(str(e))
            print(f"  failed: {e}")
    if not dl.sources:
        problems.append("no download exists; see the manual steps")
    return None, False, problems


def _strip_single_top(folder):
    entries = [e for e in os.listdir(folder) if not e.startswith(".") and e != "__MACOSX"]
    if len(entries) == 1 and os.path.isdir(os.path.join(folder, entries[0])):
        return os.path.join(folder, entries[0])
    return folder


def _find_file(folder, name):
    for dirpath, _, files in os.walk(folder):
        if name in files:
            return os.path.join(dirpath, name)
    return None


def install(dl, path, root, owned, opts):
    """Put the content of ``path`` where ``dl.place`` says (extracting archives through a staging folder)."""
    if not dl.is_archive:
        (_, dst), = dl.place
        target = os.path.join(root, dst)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        if owned:
            os.replace(path, target)
        else:
            shutil.copyfile(path, target + ".tmp")
            os.replace(target + ".tmp", target)
        print(f"  placed {target}")
        return
    staging = os.path.join(root, DOWNLOADS_DIRNAME, dl.filename + ".extract")
    shutil.rmtree(staging, ignore_errors=True)  # left by an interrupted run
    print(f"  extracting {os.path.basename(path)}")
    safe_extract(path, staging)
    base = staging
    if dl.inner:
        inner = _find_file(staging, dl.inner)
        if inner is None:
            raise DownloadError(f"{dl.filename} does not contain {dl.inner}; the archive has another layout.")
        base = staging + ".inner"
        shutil.rmtree(base, ignore_errors=True)
        safe_extract(inner, base)
    try:
        for src, dst in dl.place:
            source = _strip_single_top(base) if src == "*" else os.path.join(base, src)
            if not os.path.exists(source):
                source = os.path.join(_strip_single_top(base), src)  # an extra top folder in the archive
            if not os.path.exists(source):
                raise DownloadError(f"{dl.filename} has no {src}/; the archive has another layout.")
            target = os.path.join(root, dst)
            kept = merge_move(source, target)
            print(f"  placed {target}" + (f" (kept {kept} existing files)" if kept else ""))
    finally:
        shutil.rmtree(staging, ignore_errors=True)
        shutil.rmtree(staging + ".inner", ignore_errors=True)
    if owned and not opts.keep_archives:
        os.remove(path)


def _present(dl, root):
    return all(os.path.exists(os.path.join(root, p)) for p in dl.products)


def manual_text(info, root, failed):
    lines = []
    for dl, problems in failed:
        lines.append(f"  {dl.filename} ({dl.what}, {dl.size}) could not be fetched:")
        lines.extend(f"    - {p}" for p in problems)
        official = [s.describe() for s in dl.sources if not s.third_party]
        if official and dl.is_archive:
            lines.append(f"    By hand: download {' or '.join(official)}, put it in a folder DIR and run again with "
                         f"--archives DIR.")
        elif official:
            (_, dst), = dl.place
            lines.append(f"    By hand: download {' or '.join(official)} in a browser and save it as "
                         f"{os.path.join(root, dst)}.")
    if info.manual:
        lines.append("  Manual steps:")
        lines.extend(f"    {i}. {step.replace('$DATA', root)}" for i, step in enumerate(info.manual, start=1))
    if info.mirrors:
        lines.append("  Third-party copies (not checked by this project; verify what you get):")
        lines.extend(f"    - {m}" for m in info.mirrors)
    return "\n".join(lines)


def prepare_dataset(info, opts):
    """Fetch and lay out one dataset, then return its check ``Report``."""
    root = opts.root
    print(f"== {info.title}: {info.key} (DATASET.NAME {info.name}) -> {os.path.join(root, info.dataset_dir)}")
    with FileLock(os.path.join(root, DOWNLOADS_DIRNAME, f".{info.key}.lock")):
        failed = _fetch_and_place(info, opts)
    report = check_dataset(info, root)
    print(report.render())
    if not report.ready:
        text = manual_text(info, root, failed)
        if text:
            print(text)
        elif info.kind == "split" and not opts.build_split:
            print(f"  {missing_split_hint(info, root)}")
    print()
    return report


def _fetch_and_place(info, opts):
    """Every step of ``prepare`` that writes; returns ``[(Download, problems)]`` for what failed."""
    root = opts.root
    failed = []
    for dl in info.downloads:
        if dl.for_building_split and not opts.build_split:
            continue
        if dl.what == "split" and opts.build_split and not _present(dl, root) and opts.no_gdrive:
            continue
        if _present(dl, root):
            print(f"  present: {', '.join(dl.products)}")
            continue
        if dl.copy_from and os.path.isfile(os.path.join(root, dl.copy_from)):
            (_, dst), = dl.place
            with open(os.path.join(root, dl.copy_from), "r", encoding="utf-8") as f:
                atomic_write_text(os.path.join(root, dst), f.read())
            print(f"  copied {dl.copy_from} to {dst}")
            continue
        path, owned, problems = obtain(dl, root, opts)
        if path is None:
            failed.append((dl, problems))
            continue
        try:
            install(dl, path, root, owned, opts)
        except LammError as e:  # an unsafe or unexpected archive: report it, go on with the next file
            print(f"  failed: {e}")
            failed.append((dl, problems + [f"{e} ({path} is kept for inspection)"]))

    if opts.fix_val:
        fix_val(info, root, opts.fix_val)
    if opts.build_split and info.kind == "split":
        split_path = os.path.join(root, info.dataset_dir, info.split_file)
        if os.path.isfile(split_path):
            print(f"  {info.split_file} is present; not building one (delete it to build)")
        else:
            build_split(info, root, opts.split_seed)
    return failed


def fix_val(info, root, mapping):
    from ..official_lists import fix_flat_val

    if info.key != "imagenet":
        return
    val_dir = os.path.join(root, info.dataset_dir, info.image_dir, "val")
    moved = fix_flat_val(val_dir, mapping)
    print(f"  moved {moved} val images into wnid folders")


def how_text(info):
    """How ``prepare`` gets a dataset: which files come from where."""
    channels = {}
    for dl in info.downloads:
        if dl.for_building_split or not dl.sources:
            continue  # without sources: covered by the manual steps
        label = {"images": "images", "split": "split"}.get(dl.what, dl.filename)
        if dl.copy_from:
            channel = f"copied from {dl.copy_from} (else Google Drive)"
        elif dl.sources[0].gdrive_id:
            channel = "Google Drive (gdown)"
        else:
            official = [s for s in dl.sources if not s.third_party]
            channel = " or ".join(s.url.split("/")[2] for s in official)
            if all(s.md5 or s.sha256 for s in official):
                channel += ", md5-checked"
            if any(s.third_party for s in dl.sources):
                channel += " (reported offline; a third-party copy with --mirrors)"
        if label not in channels.setdefault(channel, []):
            channels[channel].append(label)
    parts = [f"{', '.join(labels)}: {channel}" for channel, labels in channels.items()]
    if info.manual:
        parts.insert(0, "images: manual steps")
    return "; ".join(parts)


def list_markdown(infos=None):
    rows = ["| dataset (config) | DATASET.NAME | folder layout under `$DATA` | classes | train / val / test images | "
            "how `prepare` gets it | download size (approx.) |",
            "|---|---|---|---|---|---|---|"]
    for info in infos or CATALOG.values():
        paths = [f"{info.dataset_dir}/{sub}/" for sub in info.required_subdirs if sub] or [f"{info.dataset_dir}/"]
        if info.split_file:
            paths.append(f"{info.dataset_dir}/{info.split_file}")
        if info.kind == "aircraft":
            paths += [f"{info.dataset_dir}/variants.txt", f"{info.dataset_dir}/images_variant_*.txt"]
        if info.kind in ("imagenet", "test-only"):
            paths.append(f"{info.dataset_dir}/classnames.txt")
        sizes = f"{info.sizes[2]} (test only)" if info.kind == "test-only" else " / ".join(map(str, info.sizes))
        layout = "<br>".join(f"`{p}`" for p in paths)
        rows.append(f"| {info.key} | `{info.name}` | {layout} | {info.num_classes} | {sizes} | {how_text(info)} | "
                    f"{info.download_size} |")
    return "\n".join(rows)


def list_plain(infos=None):
    lines = []
    for info in infos or CATALOG.values():
        lines.append(f"{info.key:<16} {info.name:<20} {info.dataset_dir + '/':<22} {info.num_classes:>5} classes  "
                     f"{info.download_size:<34} {how_text(info)}")
    return "\n".join(lines)


def build_parser():
    parser = argparse.ArgumentParser(
        prog="python -m datasets.prepare",
        description="Download and lay out datasets in CoOp's layout, or check them (first word 'check'), or list "
                    "them (first word 'list').",
    )
    parser.add_argument("names", nargs="*", help="'check' or 'list' first, then dataset names or 'all'")
    parser.add_argument("--root", default=None, help="DATASET.ROOT (default: $DATA, else ./data)")
    parser.add_argument("--archives", default=None, help="folder with files you downloaded by hand")
    parser.add_argument("--keep-archives", action="store_true", help="keep downloaded archives in $DATA/.downloads")
    parser.add_argument("--mirrors", action="store_true", help="also try third-party copies of dead links")
    parser.add_argument("--build-split", action="store_true",
                        help="build a missing split file from the official annotations (not the published split)")
    parser.add_argument("--no-gdrive", action="store_true", help="with --build-split: do not try Google Drive first")
    parser.add_argument("--split-seed", type=int, default=1, help="seed of --build-split (CoOp's first run: 1)")
    parser.add_argument("--fix-val", default=None, metavar="FILE",
                        help="imagenet: sort a flat val folder with LOC_val_solution.csv or valprep.sh")
    parser.add_argument("--deep", action="store_true", help="check: also decode every image (slow)")
    parser.add_argument("--markdown", action="store_true", help="list: print the table as Markdown")
    parser.add_argument("--quiet", action="store_true", help="no progress output while downloading")
    return parser


def options(root, **overrides):
    """``prepare``'s options with their defaults (as with no flags), for a caller in this process."""
    opts = build_parser().parse_args([])
    vars(opts).update(overrides)
    opts.root = os.path.abspath(os.path.expanduser(root))
    return opts


class UnwritableRootError(DatasetError):
    """``prepare`` cannot write under DATASET.ROOT (read-only, not a folder, disk full)."""


# What a failed write under DATASET.ROOT says about the root (others are reported as they are).
_WRITE_ERRNOS = {errno.EACCES, errno.EPERM, errno.EROFS, errno.ENOSPC, errno.EDQUOT, errno.ENOTDIR, errno.EEXIST}


def unwritable(root, error):
    where = f": {error.filename}" if error.filename else ""
    if error.errno not in _WRITE_ERRNOS:
        return UnwritableRootError(f"preparing under {root} failed ({error.strerror or error}{where}).")
    return UnwritableRootError(
        f"cannot write under {root} ({error.strerror or error}{where}). Choose a writable --root (or $DATA), or "
        f"fix the folder's permissions; `python -m datasets.prepare check --root {root}` only reads.")


def checked_options(opts):
    """Refuse what no dataset can be prepared or checked with, before anything is fetched."""
    if opts.root is not None and not opts.root.strip():
        raise InvalidDatasetError("--root is empty: give a folder (without --root: $DATA, else ./data).")
    opts.root = os.path.abspath(os.path.expanduser(opts.root or default_root()))
    if os.path.exists(opts.root) and not os.path.isdir(opts.root):
        raise InvalidDatasetError(f"--root {opts.root} is a file, not a folder: give the folder that holds (or will "
                                  f"hold) the datasets.")
    if opts.archives is not None and not os.path.isdir(opts.archives):
        raise InvalidDatasetError(f"--archives {opts.archives} is not a folder: give the folder that holds the "
                                  f"files you downloaded by hand.")
    if opts.fix_val is not None and not os.path.isfile(opts.fix_val):
        raise InvalidDatasetError(f"--fix-val {opts.fix_val} not found: give LOC_val_solution.csv (Kaggle) or "
                                  f"valprep.sh.")
    return opts


def check_datasets(infos, opts):
    """``check``: each dataset's report and the summary; a folder it may not read is one error."""
    print(f"Datasets under {opts.root} (DATASET.ROOT):\n")
    reports = []
    try:
        for info in infos:
            report = check_dataset(info, opts.root, deep=opts.deep)
            reports.append(report)
            print(report.render() + "\n")
    except LammError:
        raise  # already one clear line (an UnreadableFileError is also a PermissionError)
    except PermissionError as e:
        raise DatasetError(f"cannot read {e.filename or opts.root} ({e.strerror}): give your user read access "
                           f"to the datasets under {opts.root}.") from e
    print(f"Summary: {summary(reports)}")
    return reports


def prepare_datasets(infos, opts):
    """Prepare each dataset of ``infos`` under ``opts.root`` and print the summary; returns the reports."""
    try:
        os.makedirs(os.path.join(opts.root, DOWNLOADS_DIRNAME), exist_ok=True)
        reports = [prepare_dataset(info, opts) for info in infos]
    except OSError as e:
        raise unwritable(opts.root, e) from e
    print(f"Summary: {summary(reports)}")
    return reports


def run(argv=None):
    """``main`` for ``python -m datasets.prepare``: a closed pipe (``... | head``) ends it quietly."""
    try:
        code = main(argv)
        sys.stdout.flush()
        return code
    except BrokenPipeError:
        # The reader stopped reading: send what is left nowhere (so the exit flush cannot fail
        # again) and end as a command killed by SIGPIPE does.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 128 + 13
    except KeyboardInterrupt:
        print("\ninterrupted: run the same command again to resume (finished files are kept, a partial download "
              "continues where it stopped).", file=sys.stderr)
        return 128 + 2


def main(argv=None):
    parser = build_parser()
    opts = parser.parse_args(argv)
    names = list(opts.names)
    try:
        if names:
            check_first_word(names[0])
    except LammError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    command = names.pop(0) if names and names[0] in COMMANDS else "prepare"
    if command == "prepare" and not names:
        parser.error("name the datasets to prepare (or 'all'), or use 'check' or 'list'")
    try:
        infos = resolve(names)
        if command == "list":
            print(list_markdown(infos) if opts.markdown else list_plain(infos))
            return 0
        checked_options(opts)
        if opts.fix_val and all(info.key != "imagenet" for info in infos):
            raise InvalidDatasetError("--fix-val applies to imagenet only.")
        if command == "check":
            reports = check_datasets(infos, opts)
        else:
            reports = prepare_datasets(infos, opts)
    except LammError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0 if all(r.ready for r in reports) else 1

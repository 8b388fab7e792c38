"""``python -m datasets.prepare check``: what is present, missing or wrong, per dataset, before training."""
import glob
import os
from collections import Counter
from dataclasses import dataclass, field

from lamm.errors import DatasetError

from ..catalog import missing_split_hint
from ..errors import UnreadableFileError
from ..layout import LEGACY_DIRNAME, cache_root, locate_misplaced
from ..official_lists import CLASSNAMES_FILE, flat_images, flat_val_message, read_classnames, read_lists, require_sorted
from ..scan import list_dirs, list_files
from ..split_file import (
    SPLIT_NAMES,
    _check_records,
    class_name_conflict,
    image_file_problem,
    label_range_problem,
    nested_copy,
    read_json_file,
)

LEVELS = ("ok", "info", "warn", "missing", "wrong")
SHOW_FIRST = 3


@dataclass
class Report:
    info: object  # the DatasetInfo
    root: str
    findings: list = field(default_factory=list)

    def add(self, level, message):
        assert level in LEVELS
        self.findings.append((level, message))

    @property
    def status(self):
        levels = {level for level, _ in self.findings}
        return "wrong" if "wrong" in levels else "missing" if "missing" in levels else "ok"

    @property
    def ready(self):
        return self.status == "ok"

    def render(self):
        info = self.info
        lines = [f"{info.key} ({info.name})  {self.status.upper() if self.status != 'ok' else 'OK'}"]
        for level, message in self.findings:
            tag = level.upper() if level in ("missing", "wrong") else level
            first, *rest = message.split("\n")
            lines.append(f"  {tag:<8} {first}")
            lines.extend(f"           {line}" for line in rest)
        return "\n".join(lines)


def _count(n, word):
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _sizes_text(sizes):
    return "/".join(str(n) for n in sizes)


def _check_folder(report, path, what, dataset_dir_rel, subdir):
    """A required folder: present and non-empty, else missing (or wrong when found misplaced)."""
    if os.path.isdir(path):
        if not any(not e.startswith(".") for e in os.listdir(path)):
            report.add("missing", f"{path} is empty ({what}).")
            return False
        return True
    found = locate_misplaced(report.root, dataset_dir_rel, subdir)
    if found:
        report.add("wrong", f"{path} not found, but {found} exists: move it there (mv {found} {path}).")
    else:
        report.add("missing", f"{path} not found ({what}).")
    return False


def _check_images(report, paths, source, deep, prefix=None):
    """Missing, empty and (with ``deep``) unreadable images among ``paths``."""
    problems = [(p, image_file_problem(p)) for p in paths]
    missing = [p for p, problem in problems if problem == "missing"]
    empty = [p for p, problem in problems if problem == "empty"]
    if missing:
        nested = nested_copy(missing[0], prefix) if prefix else None
        report.add("wrong", f"{len(missing)} of the {len(paths)} images listed in {source} are missing, e.g. "
                            + ", ".join(missing[:SHOW_FIRST])
                            + (f"\n{missing[0]} exists as {nested}: that folder is nested one level too deep; "
                               f"move its content up." if nested else ""))
    if empty:
        report.add("wrong", f"{len(empty)} images are empty files (interrupted extraction?), e.g. "
                            + ", ".join(empty[:SHOW_FIRST]))
    if deep and not missing and not empty:
        bad = unreadable_images(paths)
        if bad:
            report.add("wrong", f"{len(bad)} images cannot be decoded, e.g. "
                                + ", ".join(f"{p} ({e})" for p, e in bad[:SHOW_FIRST]))
        else:
            report.add("ok", f"all {len(paths)} images decode")
    return not missing and not empty


def unreadable_images(paths):
    """``[(path, error)]`` for the images PIL cannot open and verify."""
    from PIL import Image

    bad = []
    for path in paths:
        try:
            with Image.open(path) as image:
                image.verify()
        except Exception as e:  # PIL raises many types for damaged files
            bad.append((path, f"{type(e).__name__}: {e}"))
    return bad


def _check_caches(report, dataset_dir):
    fewshot_dir = os.path.join(dataset_dir, LEGACY_DIRNAME)
    caches = sorted(glob.glob(os.path.join(fewshot_dir, "*.json")))
    pickles = sorted(glob.glob(os.path.join(fewshot_dir, "*.pkl"))) + sorted(
        glob.glob(os.path.join(dataset_dir, "preprocessed.pkl")))
    if caches:
        report.add("info", f"{_count(len(caches), 'few-shot cache')} of an earlier version in {fewshot_dir}: read "
                           f"when they match, never written (new caches go to {os.path.join(cache_root(), 'fewshot')})")
    if pickles:
        report.add("info", f"{_count(len(pickles), 'pickle')} written by CoOp ({os.path.basename(pickles[0])} ...) are "
                           f"ignored, never loaded (a pickle can run code); delete them at will")


def _check_label_table(report, named_records, source, expected_classes):
    """Labels 0..n-1, one class name per label (``named_records``: split name -> entries); returns the label count."""
    conflict = class_name_conflict(named_records, source)
    if conflict:
        report.add("wrong", conflict)
        return 0
    labels = sorted({int(label) for records in named_records.values() for _, label, _ in records})
    out_of_range = label_range_problem(named_records, source)
    if out_of_range:
        report.add("wrong", out_of_range)
    elif labels != list(range(len(labels))):
        report.add("wrong", f"{source}: labels are not 0..{len(labels) - 1} (got {labels[:5]} ...).")
    if expected_classes and len(labels) != expected_classes:
        report.add("warn", f"{source} has {len(labels)} classes; CoOp's has {expected_classes}.")
    return len(labels)


def check_split_dataset(report, dataset_dir, deep):
    info = report.info
    image_dirs_ok = all(
        _check_folder(report, os.path.join(dataset_dir, sub), "images", info.dataset_dir, sub)
        for sub in info.required_subdirs)
    split_path = os.path.join(dataset_dir, info.split_file)
    if not os.path.isfile(split_path):
        report.add("missing", f"{split_path} not found. {missing_split_hint(info, report.root)}")
        return
    try:
        split = read_json_file(split_path, what="Split file")
        if not isinstance(split, dict) or any(k not in split for k in SPLIT_NAMES):
            raise DatasetError(f"{split_path} must be a JSON object with the keys {list(SPLIT_NAMES)}.")
        for key in SPLIT_NAMES:
            _check_records(split[key], split_path, key)
    except UnreadableFileError:
        raise  # not a wrong file: one error line (check_datasets)
    except DatasetError as e:
        report.add("wrong", f"{e} Download it again: {missing_split_hint(info, report.root)}")
        return
    sizes = tuple(len(split[k]) for k in SPLIT_NAMES)
    n_classes = _check_label_table(report, {k: split[k] for k in SPLIT_NAMES}, split_path, info.num_classes)
    if sizes != info.sizes:
        report.add("warn", f"{info.split_file} has {_sizes_text(sizes)} train/val/test images; CoOp's paper lists "
                           f"{_sizes_text(info.sizes)} (a different split file?).")
    prefix = dataset_dir if info.split_prefix == "dataset_dir" else os.path.join(dataset_dir, info.image_dir)
    if image_dirs_ok:
        paths = [os.path.join(prefix, rel) for key in SPLIT_NAMES for rel, _, _ in split[key]]
        if _check_images(report, paths, info.split_file, deep, prefix):
            report.add("ok", f"{info.split_file}: {n_classes} classes, {_sizes_text(sizes)} train/val/test images, "
                             f"all present")


def check_aircraft(report, dataset_dir, deep):
    info = report.info
    if not _check_folder(report, os.path.join(dataset_dir, info.image_dir), "images", info.dataset_dir, info.image_dir):
        return
    try:
        classnames, records = read_lists(dataset_dir)
    except DatasetError as e:
        report.add("missing" if "not found" in str(e) else "wrong", str(e).split("\n")[0])
        return
    sizes = tuple(len(records[k]) for k in SPLIT_NAMES)
    if len(classnames) != info.num_classes:
        report.add("warn", f"variants.txt has {len(classnames)} classes; FGVC-Aircraft has {info.num_classes}.")
    if sizes != info.sizes:
        report.add("warn", f"the lists hold {_sizes_text(sizes)} train/val/test images; expected {_sizes_text(info.sizes)}.")
    image_dir = os.path.join(dataset_dir, info.image_dir)
    paths = [os.path.join(image_dir, rel) for k in SPLIT_NAMES for rel, _, _ in records[k]]
    if _check_images(report, paths, "images_variant_*.txt", deep):
        report.add("ok", f"{len(classnames)} classes, {_sizes_text(sizes)} train/val/test images, all present")


def _classnames(report, dataset_dir, require_order):
    path = os.path.join(dataset_dir, CLASSNAMES_FILE)
    try:
        classnames = read_classnames(path, report.info.key)
    except DatasetError as e:
        report.add("missing" if "not found" in str(e) else "wrong", str(e))
        return None
    try:
        require_sorted(classnames, path)
    except DatasetError as e:
        report.add("wrong" if require_order else "warn", str(e))
        if require_order:
            return None
    if len(classnames) != 1000:
        report.add("warn", f"{path} has {len(classnames)} classes; ImageNet's has 1000 (use CoOp's file).")
    else:
        report.add("ok", f"{CLASSNAMES_FILE}: 1000 classes")
    return classnames


def _image_count(folder, classes):
    counts = {c: len(list_files(os.path.join(folder, c))) for c in classes}
    empty = [c for c, n in counts.items() if n == 0]
    return sum(counts.values()), empty


def check_imagenet(report, dataset_dir, deep):
    info = report.info
    classnames = _classnames(report, dataset_dir, require_order=False)
    image_dir = os.path.join(dataset_dir, info.image_dir)
    folders = {}
    for split in ("train", "val"):
        path = os.path.join(image_dir, split)
        if not _check_folder(report, path, f"{split} images", info.dataset_dir, f"{info.image_dir}/{split}"):
            continue
        flat = flat_images(path)
        if flat:
            report.add("wrong", flat_val_message(path, len(flat)) if split == "val" else
                       f"{path} holds {len(flat)} files directly; it must hold one folder per wnid.")
            continue
        wnids = list_dirs(path)
        folders[split] = wnids
        total, empty = _image_count(path, wnids)
        unknown = [w for w in wnids if classnames is not None and w not in classnames]
        if unknown:
            report.add("wrong", f"{path}: {len(unknown)} folders are not in classnames.txt, e.g. {unknown[:SHOW_FIRST]}")
        if empty:
            report.add("wrong", f"{path}: {len(empty)} class folders are empty, e.g. {empty[:SHOW_FIRST]}")
        expected = info.sizes[0] if split == "train" else info.sizes[2]
        level = "ok" if len(wnids) == info.num_classes and total == expected else "warn"
        report.add(level, f"images/{split}: {len(wnids)} class folders, {total} images"
                          + ("" if level == "ok" else f" (ImageNet has {info.num_classes} and {expected})"))
    if len(folders) == 2 and folders["train"] != folders["val"]:
        report.add("wrong", "images/train and images/val hold different wnid folders; labels are the sorted folder "
                            "indices, so both need the same classes.")


def check_test_only(report, dataset_dir, deep):
    info = report.info
    classnames = _classnames(report, dataset_dir, require_order=True)
    image_dir = os.path.join(dataset_dir, info.image_dir)
    if not _check_folder(report, image_dir, "images", info.dataset_dir, info.image_dir):
        return
    folders = list_dirs(image_dir)
    if info.key == "imagenetv2":
        odd = [f for f in folders if not f.isdigit()]
        n = len(classnames) if classnames else info.num_classes
        missing = sorted(set(map(str, range(n))) - set(folders), key=int)
        if odd or missing:
            report.add("wrong", f"{image_dir} must hold the folders 0..{n - 1}"
                                + (f"; missing {missing[:SHOW_FIRST]}" if missing else "")
                                + (f"; unexpected {odd[:SHOW_FIRST]}" if odd else ""))
    elif classnames is not None:
        unknown = [f for f in folders if f not in classnames]
        if unknown:
            report.add("wrong", f"{image_dir}: {len(unknown)} folders are not ImageNet wnids of classnames.txt, "
                                f"e.g. {unknown[:SHOW_FIRST]}")
    total, empty = _image_count(image_dir, folders)
    if empty:
        report.add("wrong", f"{image_dir}: {len(empty)} class folders are empty, e.g. {empty[:SHOW_FIRST]}")
    level = "ok" if len(folders) == info.num_classes and total == info.sizes[2] else "warn"
    report.add(level, f"{info.image_dir}: {len(folders)} class folders, {total} images"
                      + ("" if level == "ok" else f" ({info.title} has {info.num_classes} and {info.sizes[2]})"))
    if deep and not empty:
        paths = [os.path.join(image_dir, f, n) for f in folders for n in sorted(os.listdir(os.path.join(image_dir, f)))
                 if not n.startswith(".")]
        _check_images(report, paths, image_dir, deep)


CHECKERS = {
    "split": check_split_dataset,
    "aircraft": check_aircraft,
    "imagenet": check_imagenet,
    "test-only": check_test_only,
}


def check_dataset(info, root, deep=False):
    """The ``Report`` of one dataset under DATASET.ROOT ``root``."""
    root = os.path.abspath(os.path.expanduser(root))
    report = Report(info, root)
    dataset_dir = os.path.join(root, info.dataset_dir)
    if not os.path.isdir(dataset_dir):
        report.add("missing", f"{dataset_dir} not found. Get it: python -m datasets.prepare {info.key} --root {root}")
        return report
    CHECKERS[info.kind](report, dataset_dir, deep)
    if info.kind in ("split", "aircraft", "imagenet"):
        _check_caches(report, dataset_dir)
    return report


def summary(reports):
    counts = Counter(r.status for r in reports)
    ready = [r.info.key for r in reports if r.ready]
    text = f"{counts['ok']} ready, {counts['missing']} missing, {counts['wrong']} wrong"
    return text + (f" (ready: {', '.join(ready)})" if ready else "")

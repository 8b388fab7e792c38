"""The official list files of the datasets read without a split file, parsed without Dassl."""
import csv
import os
import re
from collections import OrderedDict

from .catalog import CATALOG
from .errors import DatasetNotFoundError, InvalidDatasetError
from .scan import list_files

AIRCRAFT = CATALOG["fgvc_aircraft"]
VARIANTS_FILE = "variants.txt"
LIST_FILES = {key: f"images_variant_{key}.txt" for key in ("train", "val", "test")}


def _required(dataset_dir, name):
    path = os.path.join(dataset_dir, name)
    if not os.path.isfile(path):
        raise DatasetNotFoundError(
            f"FGVCAircraft file not found: {path}. It is part of the data/ folder of "
            f"fgvc-aircraft-2013b.tar.gz, which becomes {dataset_dir}. Layout:\n{AIRCRAFT.layout.rstrip()}")
    return path


def read_lists(dataset_dir):
    """``(classnames, {"train"|"val"|"test": [[rel_impath, label, classname], ...]})`` from the official lists."""
    variants_path = _required(dataset_dir, VARIANTS_FILE)
    classnames = read_text_lines(variants_path, "FGVCAircraft variants.txt")
    cname2lab = {name: label for label, name in enumerate(classnames)}
    records = {}
    for key, list_name in LIST_FILES.items():
        path = _required(dataset_dir, list_name)
        records[key] = []
        for number, line in enumerate(read_text_lines(path, "FGVCAircraft list"), start=1):
            image_id, _, classname = line.partition(" ")
            if classname not in cname2lab:
                raise InvalidDatasetError(f"{path}:{number}: variant {classname!r} is not in {variants_path}.")
            records[key].append([image_id + ".jpg", cname2lab[classname], classname])
    return classnames, records


CLASSNAMES_FILE = "classnames.txt"
WNID = re.compile(r"^n\d{8}$")


def read_classnames(path, dataset_key="imagenet"):
    """``OrderedDict(wnid -> class name)`` from a classnames.txt, in file order."""
    if not os.path.isfile(path):
        folder = os.path.dirname(path)
        source = os.path.join(os.path.dirname(folder), "imagenet", CLASSNAMES_FILE)
        how = (
            f"copy it from the ImageNet folder: cp {source} {path}"
            if os.path.isfile(source) and os.path.abspath(source) != os.path.abspath(path)
            else f"get it with `python -m datasets.prepare {dataset_key} --root {os.path.dirname(folder)}` "
            f"(CoOp's file, Google Drive id {CATALOG['imagenet'].downloads[0].sources[0].gdrive_id})")
        raise DatasetNotFoundError(f"Class-name file not found: {path}. ImageNet readers need it: {how}.")
    classnames = OrderedDict()
    with open(path, "r", encoding="utf-8") as f:
        for number, line in enumerate(f, start=1):
            line = line.strip()
            if not line:
                continue
            wnid, _, name = line.partition(" ")
            if not WNID.match(wnid) or not name.strip():
                raise InvalidDatasetError(f"{path}:{number}: expected '<wnid> <class name>', got {line!r}.")
            if wnid in classnames:
                raise InvalidDatasetError(f"{path}:{number}: wnid {wnid} appears twice.")
            classnames[wnid] = name.strip()
    if not classnames:
        raise InvalidDatasetError(f"{path} is empty.")
    return classnames


def require_sorted(classnames, path):
    """ImageNet's class i is the i-th wnid in sorted order; a file in another order would mislabel."""
    wnids = list(classnames)
    if wnids != sorted(wnids):
        first = next(i for i, (a, b) in enumerate(zip(wnids, sorted(wnids))) if a != b)
        raise InvalidDatasetError(
            f"{path} is not sorted by wnid (line {first + 1} is {wnids[first]}): ImageNet's class i is the i-th "
            f"wnid in sorted order, and the ImageNet variants map labels through this order. Use CoOp's file.")


def imagenet_class_indices(wnids, classnames):
    """The ImageNet class index (0..999) of each wnid: its position in ImageNet's classnames.txt."""
    order = {wnid: index for index, wnid in enumerate(classnames)}
    missing = [w for w in wnids if w not in order]
    if missing:
        raise InvalidDatasetError(f"wnid {missing[0]} is not one of the {len(order)} ImageNet classes of classnames.txt.")
    return [order[w] for w in wnids]


def flat_images(folder):
    """Image files directly inside ``folder`` (a val/ folder extracted without its class folders)."""
    return list_files(folder)


def flat_val_message(val_dir, count):
    root = os.path.dirname(os.path.dirname(os.path.dirname(val_dir)))
    return (
        f"ImageNet's {val_dir} holds {count} images directly; they must be sorted into one folder per wnid "
        f"(val/n01440764/ILSVRC2012_val_00000293.JPEG ...), or the test set would be empty. Fix: "
        f"`python -m datasets.prepare imagenet --root {root} --fix-val FILE` with FILE = LOC_val_solution.csv "
        f"(Kaggle's ImageNet challenge) or valprep.sh "
        f"(https://raw.githubusercontent.com/soumith/imagenetloader.torch/master/valprep.sh; running it inside val/ "
        f"does the same).")


def read_val_mapping(path):
    """``{image file name: wnid}`` from LOC_val_solution.csv, valprep.sh or "<file> <wnid>" lines."""
    mapping = {}
    with open(path, "r", encoding="utf-8") as f:
        text = f.read()
    if text.startswith("ImageId,"):
        for row in csv.DictReader(text.splitlines()):
            mapping[row["ImageId"] + ".JPEG"] = row["PredictionString"].split()[0]
    else:
        for line in text.splitlines():
            words = line.split()
            if len(words) == 3 and words[0] == "mv":  # valprep.sh: mv ILSVRC2012_val_00000001.JPEG n01751748/
                mapping[os.path.basename(words[1])] = words[2].strip("/")
            elif len(words) == 2 and not line.startswith(("#", "mkdir")):
                mapping[os.path.basename(words[0])] = words[1]
    bad = [w for w in mapping.values() if not WNID.match(w)]
    if not mapping or bad:
        raise InvalidDatasetError(
            f"{path} is not a val mapping (LOC_val_solution.csv, valprep.sh, or lines '<file> <wnid>')"
            + (f": {bad[0]!r} is not a wnid." if bad else "."))
    return mapping


def fix_flat_val(val_dir, mapping_path):
    """Move the images lying directly in ``val_dir`` into ``val_dir/<wnid>/``; returns how many moved."""
    mapping = read_val_mapping(mapping_path)
    images = flat_images(val_dir)
    unknown = [name for name in images if name not in mapping]
    if unknown:
        raise InvalidDatasetError(
            f"{len(unknown)} images in {val_dir} are not in {mapping_path} (first: {unknown[0]}); nothing was moved.")
    for name in images:
        target = os.path.join(val_dir, mapping[name])
        os.makedirs(target, exist_ok=True)
        os.replace(os.path.join(val_dir, name), os.path.join(target, name))
    return len(images)


def read_text_lines(path, what):
    """Non-empty, stripped lines of an annotation file; a missing file is a clear error."""
    if not os.path.isfile(path):
        raise DatasetNotFoundError(f"{what} not found: {path}.")
    with open(path, "r", encoding="utf-8") as f:
        return [line.strip() for line in f if line.strip()]

"""ImageNet (ILSVRC-2012) as in CoOp: 1000 classes; the official val set is both val and test.

Labels are the indices of the sorted wnid folders of ``images/train`` (the standard ImageNet
class order, which is also the order of CoOp's ``classnames.txt``), class names come from
``classnames.txt`` (lines ``n01440764 tench``; CoOp copied them from CLIP's prompt-engineering
notebook). Few-shot subsets are drawn from train only; val/test stay whole.

CoOp caches its scan in ``preprocessed.pkl``; a pickle can run code when loaded, and a stale
one silently hides a changed folder. This reader never reads it: it scans the folders every
time (sorted, so a seed draws the same subset on every machine) and caches only the K-shot
subset, as JSON with a fingerprint of the scan.
"""
import csv
import os
import re
from collections import OrderedDict

from dassl.data.datasets import DATASET_REGISTRY, DatasetBase

from .base_new import subsample_setting
from .catalog import CATALOG
from .base_new import FullLabelSpace
from .common import FEWSHOT_DIRNAME, find_dataset_dir, finish_splits
from .errors import DatasetNotFoundError, InvalidDatasetError
from .scan import as_datums, list_dirs, list_files, records_fingerprint, scan_class_folders

INFO = CATALOG["imagenet"]
CLASSNAMES_FILE = "classnames.txt"
WNID = re.compile(r"^n\d{8}$")


def read_classnames(path, dataset_key="imagenet"):
    """``OrderedDict(wnid -> class name)`` from a classnames.txt, in file order.

    Each line is ``<wnid> <class name words>``; a malformed line or a repeated wnid is an error
    that names the file and line. ``dataset_key`` is the dataset the file belongs to, for the
    message when it is missing.
    """
    if not os.path.isfile(path):
        folder = os.path.dirname(path)
        source = os.path.join(os.path.dirname(folder), "imagenet", CLASSNAMES_FILE)
        how = (
            f"copy it from the ImageNet folder: cp {source} {path}"
            if os.path.isfile(source) and os.path.abspath(source) != os.path.abspath(path)
            else f"get it with `python -m datasets.prepare {dataset_key} --root {os.path.dirname(folder)}` "
            f"(CoOp's file, Google Drive id {CATALOG['imagenet'].downloads[0].sources[0].gdrive_id})"
        )
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
            f"wnid in sorted order, and the ImageNet variants map labels through this order. Use CoOp's file."
        )


def imagenet_class_indices(wnids, classnames):
    """The ImageNet class index (0..999) of each wnid: its position in ImageNet's classnames.txt.

    ImageNet-A and ImageNet-R hold 200 of the 1000 classes, relabelled 0..199 in sorted wnid
    order; ``imagenet_class_indices(dataset.wnids, classnames)[label]`` is the output of a
    1000-class ImageNet model that corresponds to ``label``.
    """
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
        f"does the same)."
    )


def scan_imagenet(image_dir, classnames, classnames_path):
    """``(train, test)`` ImageRecords of ``images/train`` and ``images/val``, with their checks."""
    train_dir, val_dir = os.path.join(image_dir, "train"), os.path.join(image_dir, "val")
    flat = flat_images(val_dir)
    if flat:
        raise InvalidDatasetError(flat_val_message(val_dir, len(flat)))
    wnids = list_dirs(train_dir)
    if not wnids:
        raise DatasetNotFoundError(f"{train_dir} has no class folders. Layout:\n{INFO.layout.rstrip()}")
    val_wnids = list_dirs(val_dir)
    if val_wnids != wnids:
        only_train = sorted(set(wnids) - set(val_wnids))
        only_val = sorted(set(val_wnids) - set(wnids))
        raise InvalidDatasetError(
            f"ImageNet's train and val folders hold different classes ({len(wnids)} vs {len(val_wnids)} folders; "
            f"only in train: {only_train[:3]}, only in val: {only_val[:3]}). Labels are the sorted folder indices, "
            f"so both must hold the same wnid folders."
        )
    labels = {w: i for i, w in enumerate(wnids)}
    train = scan_class_folders(train_dir, wnids, classnames, labels, source=classnames_path)
    test = scan_class_folders(val_dir, wnids, classnames, labels, source=classnames_path)
    return train, test


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
            + (f": {bad[0]!r} is not a wnid." if bad else ".")
        )
    return mapping


def fix_flat_val(val_dir, mapping_path):
    """Move the images lying directly in ``val_dir`` into ``val_dir/<wnid>/``; returns how many moved.

    Every image is looked up before anything moves, so an incomplete mapping changes nothing.
    """
    mapping = read_val_mapping(mapping_path)
    images = flat_images(val_dir)
    unknown = [name for name in images if name not in mapping]
    if unknown:
        raise InvalidDatasetError(
            f"{len(unknown)} images in {val_dir} are not in {mapping_path} (first: {unknown[0]}); nothing was moved."
        )
    for name in images:
        target = os.path.join(val_dir, mapping[name])
        os.makedirs(target, exist_ok=True)
        os.replace(os.path.join(val_dir, name), os.path.join(target, name))
    return len(images)


@DATASET_REGISTRY.register()
class ImageNet(FullLabelSpace, DatasetBase):

    dataset_dir = INFO.dataset_dir

    def __init__(self, cfg):
        self.dataset_dir = find_dataset_dir(
            cfg.DATASET.ROOT, INFO.dataset_dir, name=INFO.name, layout=INFO.layout, subdirs=INFO.required_subdirs
        )
        self.image_dir = os.path.join(self.dataset_dir, INFO.image_dir)
        self.split_fewshot_dir = os.path.join(self.dataset_dir, FEWSHOT_DIRNAME)
        classnames_path = os.path.join(self.dataset_dir, CLASSNAMES_FILE)
        classnames = read_classnames(classnames_path)
        train, test = scan_imagenet(self.image_dir, classnames, classnames_path)
        train, test = finish_splits(
            self,
            cfg,
            train,
            None,
            test,
            cache_dir=self.split_fewshot_dir,
            path_prefix=self.image_dir,
            fingerprint=records_fingerprint(train, self.image_dir),
        )
        train, test = as_datums(train), as_datums(test)
        super().__init__(train_x=train, val=test, test=test)


class ImageNetTestSet(DatasetBase):
    """A test-only ImageNet variant read from class folders (CoOp: train_x = test = all images).

    ``DATASET.NUM_SHOTS`` and ``DATASET.SUBSAMPLE_CLASSES`` are ignored, as in CoOp: these sets
    evaluate a model trained on ImageNet. Subclasses set ``info`` and ``class_folders()``.

    Attributes: ``wnids`` (the wnid of each label) and ``imagenet_class_indices`` (the ImageNet
    class index of each label, see ``imagenet_class_indices``).
    """

    info = None

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if cls.info is not None:
            cls.dataset_dir = cls.info.dataset_dir

    def class_folders(self, classnames):
        """``[(folder name, wnid), ...]`` in label order."""
        raise NotImplementedError

    def __init__(self, cfg):
        info = self.info
        subsample_setting(cfg)  # ignored, but a typo is still an error
        self.dataset_dir = find_dataset_dir(
            cfg.DATASET.ROOT, info.dataset_dir, name=info.name, layout=info.layout, subdirs=info.required_subdirs
        )
        self.image_dir = os.path.join(self.dataset_dir, info.image_dir)
        classnames_path = os.path.join(self.dataset_dir, CLASSNAMES_FILE)
        classnames = read_classnames(classnames_path, info.key)
        require_sorted(classnames, classnames_path)
        folders = self.class_folders(classnames)
        if not folders:
            raise DatasetNotFoundError(f"{self.image_dir} has no class folders. Layout:\n{info.layout.rstrip()}")
        self.wnids = [wnid for _, wnid in folders]
        self.imagenet_class_indices = imagenet_class_indices(self.wnids, classnames)
        names = {folder: classnames[wnid] for folder, wnid in folders if wnid in classnames}
        data = as_datums(scan_class_folders(self.image_dir, [f for f, _ in folders], names, source=classnames_path))
        super().__init__(train_x=data, test=data)


def wnid_folders(image_dir, info):
    """Sorted wnid folders of ``image_dir`` as ``[(folder, wnid)]``; other folders are an error."""
    folders = list_dirs(image_dir)
    odd = [f for f in folders if not WNID.match(f)]
    if odd:
        raise InvalidDatasetError(
            f"{os.path.join(image_dir, odd[0])} is not a wnid folder (n########). Layout:\n{info.layout.rstrip()}"
        )
    return [(f, f) for f in folders]

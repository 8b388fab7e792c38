"""ImageNet (ILSVRC-2012) as in CoOp: 1000 classes; the official val set is both val and test."""
import os

from dassl.data.datasets import DATASET_REGISTRY

from .base_new import subsample_setting, train_classes_setting
from ..catalog import CATALOG
from .common import LabelSpaceDataset
from ..errors import DatasetNotFoundError, InvalidDatasetError
from ..official_lists import (  # the parsers live there so that `prepare check` needs no Dassl
    CLASSNAMES_FILE,
    WNID,
    flat_images,
    flat_val_message,
    imagenet_class_indices,
    read_classnames,
    require_sorted,
)
from ..scan import as_datums, list_dirs, records_fingerprint, scan_class_folders

INFO = CATALOG["imagenet"]


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
            f"so both must hold the same wnid folders.")
    labels = {w: i for i, w in enumerate(wnids)}
    train = scan_class_folders(train_dir, wnids, classnames, labels, source=classnames_path)
    test = scan_class_folders(val_dir, wnids, classnames, labels, source=classnames_path)
    return train, test


@DATASET_REGISTRY.register()
class ImageNet(LabelSpaceDataset):
    info = INFO

    def __init__(self, cfg):
        subsample_setting(cfg)  # checked first: a typo must not cost a scan
        train_classes_setting(cfg)
        self.dataset_dir = self.find_dataset_dir(cfg)
        self.image_dir = os.path.join(self.dataset_dir, INFO.image_dir)
        classnames_path = os.path.join(self.dataset_dir, CLASSNAMES_FILE)
        classnames = read_classnames(classnames_path)
        train, test = scan_imagenet(self.image_dir, classnames, classnames_path)
        self.finish(cfg, train, None, test, path_prefix=self.image_dir,
                    fingerprint=records_fingerprint(train, self.image_dir))


class ImageNetTestSet(LabelSpaceDataset):
    """A test-only ImageNet variant read from class folders (CoOp: train_x = test = all images)."""

    def class_folders(self, classnames):
        """``[(folder name, wnid), ...]`` in label order."""
        raise NotImplementedError

    def __init__(self, cfg):
        info = self.info
        # Ignored, but a typo is still an error, and a value that asks for something is answered.
        settings = {"SUBSAMPLE_CLASSES": subsample_setting(cfg), "TRAIN_CLASSES": train_classes_setting(cfg)}
        ignored = [f"DATASET.{key} {value}" for key, value in settings.items() if value != "all"]
        if ignored:
            print(f"{info.name} is a test set: {' and '.join(ignored)} ignored, all its classes are used")
        self.dataset_dir = self.find_dataset_dir(cfg)
        self.image_dir = os.path.join(self.dataset_dir, info.image_dir)
        classnames_path = os.path.join(self.dataset_dir, CLASSNAMES_FILE)
        classnames = read_classnames(classnames_path, info.key)
        require_sorted(classnames, classnames_path)
        folders = self.class_folders(classnames)
        if not folders:
            raise DatasetNotFoundError(f"{self.image_dir} has no class folders. Layout:\n{info.layout.rstrip()}")
        self.wnids = [wnid for _, wnid in folders]
        self.class_ids = imagenet_class_indices(self.wnids, classnames)
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

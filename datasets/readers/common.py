"""The one base of the readers, and what every CoOp-style reader shares."""
import os

from dassl.data.datasets import DatasetBase

from .base_new import (
    half_labels,
    keep_training_half,
    subsample_classes,
    subsample_setting,
    train_classes_setting,
)
from ..catalog import missing_split_hint
from .fewshot import LEGACY_DIRNAME, fewshot_cache_dir, fewshot_subset
from ..layout import find_dataset_dir, locate_misplaced  # noqa: F401  (the readers' path helpers)
from ..scan import as_datums
from ..split_file import file_sha256, read_split


class LabelSpaceDataset(DatasetBase):
    """A reader whose classes belong to a wider label space; every reader here inherits it."""

    info = None
    class_ids = None
    label_space = None
    split_fewshot_dir = None

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if cls.info is not None:
            cls.dataset_dir = cls.info.dataset_dir  # Dassl's class attribute, as in CoOp

    @property
    def lab2cname(self):
        return dict(self.label_space) if self.label_space else super().lab2cname

    @property
    def classnames(self):
        if not self.label_space:
            return super().classnames
        return [self.label_space[label] for label in sorted(self.label_space)]

    @property
    def num_classes(self):
        return max(self.label_space) + 1 if self.label_space else super().num_classes

    def find_dataset_dir(self, cfg):
        """``<DATASET.ROOT>/<dataset folder>``, checked with its image folders (an error names what is missing)."""
        info = self.info
        return find_dataset_dir(
            cfg.DATASET.ROOT, info.dataset_dir, name=info.name, layout=info.layout, subdirs=info.required_subdirs)

    def finish(self, cfg, train, val, test, *, path_prefix, fingerprint):
        """Few-shot subset, training half and base/new classes of the read splits, then Dassl's init."""
        self.split_fewshot_dir = fewshot_cache_dir(self.info.key, fingerprint)
        splits = finish_splits(
            self,
            cfg,
            train,
            val,
            test,
            cache_dir=self.split_fewshot_dir,
            path_prefix=path_prefix,
            fingerprint=fingerprint,
            legacy_dir=os.path.join(self.dataset_dir, LEGACY_DIRNAME),
        )
        if val is None:
            train, test = (as_datums(items) for items in splits)
            val = test
        else:
            train, val, test = (as_datums(items) for items in splits)
        DatasetBase.__init__(self, train_x=train, val=val, test=test)


def finish_splits(dataset, cfg, train, val, test, *, cache_dir, path_prefix, fingerprint, legacy_dir=None):
    """The K-shot subset (train K, val min(K, 4), cached), then the training half, then base/new classes."""
    subsample = subsample_setting(cfg)
    train_half = train_classes_setting(cfg)
    train, val = fewshot_subset(
        dataset,
        train,
        val,
        num_shots=cfg.DATASET.NUM_SHOTS,
        seed=cfg.SEED,
        cache_dir=cache_dir,
        path_prefix=path_prefix,
        fingerprint=fingerprint,
        legacy_dir=legacy_dir,
    )
    # Where each kept class sits among all classes, so that label embeddings can move between a
    # model of all classes and a model of one half (class-incremental learning).
    dataset.class_ids = half_labels({item.label for item in train}, subsample)
    if train_half != "all":
        train, val, dataset.label_space = keep_training_half(train, val, train_half)
    if val is None:
        return subsample_classes(train, test, subsample=subsample)
    return subsample_classes(train, val, test, subsample=subsample)


class SplitFileDataset(LabelSpaceDataset):
    """A CoOp reader whose data is a ``split_zhou_<Name>.json`` file; subclasses set ``info``."""

    def __init__(self, cfg):
        info = self.info
        subsample_setting(cfg)  # checked first: a typo must not cost a sampling run
        train_classes_setting(cfg)
        self.dataset_dir = self.find_dataset_dir(cfg)
        self.image_dir = os.path.join(self.dataset_dir, info.image_dir) if info.image_dir else self.dataset_dir
        self.split_path = os.path.join(self.dataset_dir, info.split_file)
        prefix = self.dataset_dir if info.split_prefix == "dataset_dir" else self.image_dir
        how_to_get = missing_split_hint(info, os.path.dirname(self.dataset_dir))
        train, val, test = read_split(self.split_path, prefix, how_to_get)
        self.finish(cfg, train, val, test, path_prefix=prefix, fingerprint=file_sha256(self.split_path))

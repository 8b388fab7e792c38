"""datasets/readers/common.py: the one reader base every reader builds on, and the splits it finishes."""
import random

import pytest
from dassl.data.datasets import DATASET_REGISTRY, DatasetBase

import datasets.readers  # noqa: F401  (registers the readers)
from datasets.readers.base_new import subsample_classes
from datasets.catalog import CATALOG
from datasets.readers.common import LabelSpaceDataset
from datasets.split_file import (
    read_split,
)


def test_finish_splits_without_val_draws_train_only_and_subsamples_train_and_test(caltech, tmp_path):
    from dassl.config import get_cfg_default

    from datasets.readers.common import finish_splits

    image_dir, split_path = caltech
    train, _, test = read_split(split_path, image_dir)
    cfg = get_cfg_default()
    cfg.DATASET.NUM_SHOTS = 2
    cfg.SEED = 4
    cfg.DATASET.SUBSAMPLE_CLASSES = "new"
    random.seed(4)
    got_train, got_test = finish_splits(DatasetBase.__new__(DatasetBase), cfg, train, None, test, cache_dir=str(tmp_path),
                                        path_prefix=image_dir, fingerprint="fp")
    random.seed(4)
    drawn = DatasetBase.__new__(DatasetBase).generate_fewshot_dataset(train, num_shots=2)
    want = subsample_classes(drawn, test, subsample="new")
    assert [(i.impath, i.label) for i in got_train] == [(i.impath, i.label) for i in want[0]]
    assert [(i.impath, i.label) for i in got_test] == [(i.impath, i.label) for i in want[1]]


@pytest.mark.parametrize("key", sorted(CATALOG))
def test_every_reader_inherits_the_one_base(key):
    assert issubclass(DATASET_REGISTRY.get(CATALOG[key].name), LabelSpaceDataset)

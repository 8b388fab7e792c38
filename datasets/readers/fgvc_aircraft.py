"""FGVC-Aircraft 2013b (Maji et al., 2013), variant level: 100 classes, 3334/3333/3333 images."""
import os

from dassl.data.datasets import DATASET_REGISTRY

from .base_new import subsample_setting, train_classes_setting
from ..catalog import CATALOG
from .common import LabelSpaceDataset
from ..official_lists import LIST_FILES, VARIANTS_FILE, read_lists  # noqa: F401  (read_lists: this reader's parser)
from ..scan import files_fingerprint
from ..split_file import records_to_datums


@DATASET_REGISTRY.register()
class FGVCAircraft(LabelSpaceDataset):
    info = CATALOG["fgvc_aircraft"]

    def __init__(self, cfg):
        subsample_setting(cfg)  # checked first: a typo must not cost a sampling run
        train_classes_setting(cfg)
        self.dataset_dir = self.find_dataset_dir(cfg)
        self.image_dir = os.path.join(self.dataset_dir, self.info.image_dir)
        _, records = read_lists(self.dataset_dir)
        splits = records_to_datums(records, self.image_dir, source=self.dataset_dir)
        list_paths = [os.path.join(self.dataset_dir, n) for n in [VARIANTS_FILE, *LIST_FILES.values()]]
        self.finish(cfg, splits["train"], splits["val"], splits["test"], path_prefix=self.image_dir,
                    fingerprint=files_fingerprint(list_paths))

"""Caltech101 (Fei-Fei et al., 2004) with CoOp's split: 100 classes, 4128/1649/2465 images."""
import os

from dassl.data.datasets import DATASET_REGISTRY, DatasetBase

from .common import find_dataset_dir, load_coop_splits
from .split_file import gdrive_download_hint

IMAGE_DIRNAME = "101_ObjectCategories"
SPLIT_FILENAME = "split_zhou_Caltech101.json"
SPLIT_GDRIVE_ID = "1hyarUivQE36mY6jSomru6Fjd-JzwcCzN"
LAYOUT = f"""\
  caltech-101/
    {IMAGE_DIRNAME}/<class folder>/image_0001.jpg ...
    {SPLIT_FILENAME}
"""

# How CoOp builds a split from the image folders (kept for building missing splits later;
# today a missing split file is an error): these folders are not classes (background clutter,
# and a second copy of the faces) ...
IGNORED = ["BACKGROUND_Google", "Faces_easy"]
# ... and these folder names become the class names below. The split file already stores the
# renamed names, so reading it needs neither table.
NEW_CNAMES = {
    "airplanes": "airplane",
    "Faces": "face",
    "Leopards": "leopard",
    "Motorbikes": "motorbike",
}


@DATASET_REGISTRY.register()
class Caltech101(DatasetBase):

    dataset_dir = "caltech-101"

    def __init__(self, cfg):
        self.dataset_dir = find_dataset_dir(
            cfg.DATASET.ROOT, self.dataset_dir, name="Caltech101", layout=LAYOUT, subdirs=[IMAGE_DIRNAME]
        )
        self.image_dir = os.path.join(self.dataset_dir, IMAGE_DIRNAME)
        self.split_path = os.path.join(self.dataset_dir, SPLIT_FILENAME)
        train, val, test = load_coop_splits(
            self,
            cfg,
            split_path=self.split_path,
            path_prefix=self.image_dir,
            how_to_get=gdrive_download_hint(SPLIT_GDRIVE_ID, self.split_path),
        )
        super().__init__(train_x=train, val=val, test=test)

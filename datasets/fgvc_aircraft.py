"""FGVC-Aircraft 2013b (Maji et al., 2013), variant level: 100 classes, 3334/3333/3333 images.

As in CoOp there is no split file: the official lists are read. ``variants.txt`` gives the
classes (label = line index) and ``images_variant_{train,val,test}.txt`` the images, one
"<image id> <variant name>" per line; variant names may hold spaces and slashes ("F/A-18").
"""
import os

from dassl.data.datasets import DATASET_REGISTRY, DatasetBase

from .catalog import CATALOG
from .common import FEWSHOT_DIRNAME, find_dataset_dir, finish_splits
from .errors import DatasetNotFoundError, InvalidDatasetError
from .scan import files_fingerprint
from .split_builders import read_text_lines
from .split_file import records_to_datums

INFO = CATALOG["fgvc_aircraft"]
VARIANTS_FILE = "variants.txt"
LIST_FILES = {key: f"images_variant_{key}.txt" for key in ("train", "val", "test")}


def _required(dataset_dir, name):
    path = os.path.join(dataset_dir, name)
    if not os.path.isfile(path):
        raise DatasetNotFoundError(
            f"FGVCAircraft file not found: {path}. It is part of the data/ folder of "
            f"fgvc-aircraft-2013b.tar.gz, which becomes {dataset_dir}. Layout:\n{INFO.layout.rstrip()}"
        )
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


@DATASET_REGISTRY.register()
class FGVCAircraft(DatasetBase):

    dataset_dir = INFO.dataset_dir

    def __init__(self, cfg):
        self.dataset_dir = find_dataset_dir(
            cfg.DATASET.ROOT, INFO.dataset_dir, name=INFO.name, layout=INFO.layout, subdirs=[INFO.image_dir]
        )
        self.image_dir = os.path.join(self.dataset_dir, INFO.image_dir)
        self.split_fewshot_dir = os.path.join(self.dataset_dir, FEWSHOT_DIRNAME)
        _, records = read_lists(self.dataset_dir)
        splits = records_to_datums(records, self.image_dir, source=self.dataset_dir)
        list_paths = [os.path.join(self.dataset_dir, n) for n in [VARIANTS_FILE, *LIST_FILES.values()]]
        train, val, test = finish_splits(
            self,
            cfg,
            splits["train"],
            splits["val"],
            splits["test"],
            cache_dir=self.split_fewshot_dir,
            path_prefix=self.image_dir,
            fingerprint=files_fingerprint(list_paths),
        )
        super().__init__(train_x=train, val=val, test=test)

"""ImageNetV2, matched frequency (Recht et al., 2019): 10000 test images of ImageNet's 1000 classes."""
import os

from dassl.data.datasets import DATASET_REGISTRY

from ..catalog import CATALOG
from ..errors import InvalidDatasetError
from .imagenet import ImageNetTestSet
from ..scan import list_dirs


@DATASET_REGISTRY.register()
class ImageNetV2(ImageNetTestSet):
    """Test set only; ``class_ids`` is the identity."""

    info = CATALOG["imagenetv2"]

    def class_folders(self, classnames):
        folders = list_dirs(self.image_dir)
        odd = [f for f in folders if not f.isdigit()]
        if odd:
            raise InvalidDatasetError(
                f"{os.path.join(self.image_dir, odd[0])}: ImageNetV2's class folders are named 0..999. "
                f"Layout:\n{self.info.layout.rstrip()}")
        wnids = list(classnames)
        expected = [str(i) for i in range(len(wnids))]
        missing = sorted(set(expected) - set(folders), key=int)
        extra = sorted(set(folders) - set(expected), key=int)
        if missing or extra:
            raise InvalidDatasetError(
                f"{self.image_dir} must hold the folders 0..{len(wnids) - 1}, one per line of classnames.txt"
                + (f"; missing: {missing[:5]}" if missing else "")
                + (f"; beyond the {len(wnids)} classes of classnames.txt: {extra[:5]}" if extra else "")
                + ".")
        return [(str(i), wnids[i]) for i in range(len(wnids))]

"""ImageNet-R (Hendrycks et al., 2021): 30000 renditions of 200 ImageNet classes."""
from dassl.data.datasets import DATASET_REGISTRY

from ..catalog import CATALOG
from .imagenet import ImageNetTestSet, wnid_folders


@DATASET_REGISTRY.register()
class ImageNetR(ImageNetTestSet):
    info = CATALOG["imagenet_r"]

    def class_folders(self, classnames):
        return wnid_folders(self.image_dir, self.info)  # README.txt is a file, not a class

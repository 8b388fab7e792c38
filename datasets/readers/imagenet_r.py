"""ImageNet-R (Hendrycks et al., 2021): 30000 renditions of 200 ImageNet classes.

As in CoOp, the 200 classes are relabelled 0..199 in sorted wnid order (``num_classes`` = 200)
and named from ImageNet's ``classnames.txt``. ``class_ids[label]`` is the
ImageNet class (0..999) of ``label``, to evaluate a 1000-class ImageNet model on these 200.
"""
from dassl.data.datasets import DATASET_REGISTRY

from ..catalog import CATALOG
from .imagenet import ImageNetTestSet, wnid_folders


@DATASET_REGISTRY.register()
class ImageNetR(ImageNetTestSet):
    info = CATALOG["imagenet_r"]

    def class_folders(self, classnames):
        return wnid_folders(self.image_dir, self.info)  # README.txt is a file, not a class

"""ImageNet-Sketch (Wang et al., 2019): 50889 sketches of ImageNet's 1000 classes, test only."""
from dassl.data.datasets import DATASET_REGISTRY

from ..catalog import CATALOG
from .imagenet import ImageNetTestSet, wnid_folders


@DATASET_REGISTRY.register()
class ImageNetSketch(ImageNetTestSet):
    info = CATALOG["imagenet_sketch"]

    def class_folders(self, classnames):
        return wnid_folders(self.image_dir, self.info)

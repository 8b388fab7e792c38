"""Oxford-IIIT Pets (Parkhi et al., 2012) with CoOp's split: 37 breeds, 2944/736/3669 images."""
from dassl.data.datasets import DATASET_REGISTRY

from ..catalog import CATALOG
from .common import SplitFileDataset


@DATASET_REGISTRY.register()
class OxfordPets(SplitFileDataset):
    info = CATALOG["oxford_pets"]

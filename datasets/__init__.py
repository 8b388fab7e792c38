"""Dataset readers; importing this package registers every reader with Dassl's DATASET_REGISTRY."""
from . import caltech101  # noqa: F401

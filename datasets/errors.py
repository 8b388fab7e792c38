"""Dataset errors: input problems that train.py reports as one message (they are ``LammError``s)."""
from lamm.errors import DatasetError


class DatasetNotFoundError(DatasetError, FileNotFoundError):
    """A dataset folder, split file or image is not where the reader looks for it."""


class InvalidDatasetError(DatasetError, ValueError):
    """A split or cache file is malformed, or the data cannot give what the config asks for."""


class DatasetNotReadyError(DatasetNotFoundError):
    """A dataset is not laid out under DATASET.ROOT yet (found before anything heavy starts)."""


class UnreadableFileError(DatasetError, PermissionError):
    """A dataset file exists but this user may not read it (a shared $DATA with other permissions)."""

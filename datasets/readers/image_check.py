"""Name the image when one cannot be read, instead of a PIL traceback from a loader worker."""
from dassl.data.data_manager import DatasetWrapper

from lamm.errors import DatasetError


class CheckedDatasetWrapper(DatasetWrapper):
    """Dassl's ``DatasetWrapper`` that turns an unreadable image into a ``DatasetError``."""

    def __getitem__(self, idx):
        try:
            return super().__getitem__(idx)
        except (OSError, ValueError, SyntaxError) as error:  # what PIL raises for missing/corrupt files
            impath = self.data_source[idx].impath
            raise DatasetError(
                f"Cannot read image {impath} ({type(error).__name__}: {error}). The file is missing or "
                "corrupt: re-extract the dataset (or replace the file) and run again.") from error

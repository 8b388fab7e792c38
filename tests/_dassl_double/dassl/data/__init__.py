"""``dassl.data``: DataManager and DatasetWrapper."""
from .data_manager import DataManager, DatasetWrapper

"""``dassl.metrics`` (only ``compute_accuracy`` is provided)."""
from .accuracy import compute_accuracy

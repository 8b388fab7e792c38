"""The preparation product: download, lay out, build and check the datasets, with no Dassl."""

"""Datasets in CoOp's layout: the catalog, ``prepare``/``check``, and the Dassl readers.

Importing this package imports nothing heavy, so ``python -m datasets.prepare`` and the
catalog start without Dassl or torch. The readers are registered with Dassl's
``DATASET_REGISTRY`` by ``import datasets.readers``. ``catalog.py`` holds the datasets'
folders, split files and sources, ``prepare.py`` downloads and checks them.
"""

"""Datasets in CoOp's layout, in three layers.

- ``datasets/`` itself: the facts and formats, with no Dassl: ``catalog`` (every dataset's
  folders, split file, sources, template and paper label), ``split_file`` (CoOp's split files),
  ``official_lists`` (the official list files), ``scan`` (class folders), ``layout`` (where a
  dataset and the few-shot caches lie), ``errors``.
- ``datasets/readers/``: the Dassl readers, registered with ``DATASET_REGISTRY`` by
  ``import datasets.readers``.
- ``datasets/prepare/``: the preparation product, with no Dassl: ``python -m datasets.prepare``
  downloads, builds and checks the datasets; its preflight and ``ensure`` run before training.

Importing this package imports nothing heavy, so ``python -m datasets.prepare`` and the
catalog start without Dassl or torch.
"""

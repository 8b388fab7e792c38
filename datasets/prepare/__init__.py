"""The preparation product: download, lay out, build and check the datasets, with no Dassl.

    python -m datasets.prepare caltech101 --root $DATA     # cli.py (through __main__.py)

``cli`` is the command, ``download`` fetches and extracts files, ``builders`` builds a missing
CoOp split file from the official annotations (``--build-split``), ``check`` reports what is
present, missing or wrong, ``preflight`` is train.py's millisecond check before Dassl starts,
and ``ensure`` prepares what a sweep needs before it starts anything. Importing this package
imports none of them.
"""

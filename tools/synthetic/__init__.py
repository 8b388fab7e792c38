"""Made-up material for tests, docs and the smoke run: ``data`` (datasets in their real
layouts), ``results`` (an output folder of records of every kind) and ``tiny_clip`` (a
random-weight CLIP)."""

"""From run records to the paper's tables, torch-free: ``collect`` (find runs, group seeds),
``classify`` (what an experiment is), ``stats`` (means over seeds and datasets), ``paper``
(published numbers), ``tables`` (the tables), ``render`` (text) and ``plots`` (Fig. 3)."""

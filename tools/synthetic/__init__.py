"""Made-up material for tests, docs and the smoke run: datasets, records and a tiny CLIP."""

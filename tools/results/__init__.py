"""From run records to the paper's tables, torch-free."""

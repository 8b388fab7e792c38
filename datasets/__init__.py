"""Datasets in CoOp's layout, in three layers."""

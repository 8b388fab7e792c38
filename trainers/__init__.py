"""Dassl trainers of this project, and what a run of them is."""

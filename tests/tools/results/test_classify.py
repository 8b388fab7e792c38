"""tools/results/classify.py: the paper's names and orders cover the project's methods and datasets."""
from datasets.catalog import CATALOG, DG_TARGETS, FEWSHOT_BENCHMARKS
from tools.results.classify import (
    DG_TARGET_NAMES,
    PAPER_DATASETS,
    TRAINER_ORDER,
    Method,
    dataset_key,
    dataset_label,
    method_labels,
)
from tools.runs import METHODS  # merge: trainers.methods


def test_every_method_of_the_project_has_a_place_in_the_tables():
    assert set(METHODS) <= set(TRAINER_ORDER)  # merge: both read trainers.methods
    labels = method_labels([Method(name) for name in METHODS])
    assert len(set(labels.values())) == len(METHODS)


def test_every_benchmark_is_named_and_found_by_its_paper_label():
    assert len(PAPER_DATASETS) == len(FEWSHOT_BENCHMARKS) and len(DG_TARGET_NAMES) == len(DG_TARGETS)
    for key in FEWSHOT_BENCHMARKS + DG_TARGETS:
        name = CATALOG[key].name
        assert dataset_key(key) == dataset_key(dataset_label(name)) == name


def test_rows_that_would_read_alike_are_told_apart():
    two_backbones = [Method("CoOp", backbone="RN50"), Method("CoOp", backbone="ViT-B/16")]
    assert set(method_labels(two_backbones).values()) == {"CoOp RN50", "CoOp ViT-B/16"}
    labels = method_labels([Method("LAMM", loss="ce"), Method("LAMM", variant="woHL"), Method("LAMM", untrained=True)])
    assert sorted(labels.values()) == ["LAMM (untrained)", "LAMM (w/o HL) #1", "LAMM (w/o HL) #2"]

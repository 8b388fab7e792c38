"""tools/results/classify.py: the paper's names and orders cover the project's methods and datasets."""
from datasets.catalog import CATALOG, DG_TARGETS, FEWSHOT_BENCHMARKS
from tools.results.classify import (
    DG_TARGET_NAMES,
    PAPER_DATASETS,
    TRAINER_ORDER,
    Method,
    describe,
    dataset_key,
    dataset_label,
    method_labels,
)
from trainers.methods import METHODS


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


def test_every_protocol_a_record_may_state_has_a_table(tmp_path):
    from tools.results.collect import find_experiments
    from trainers.record import PROTOCOLS, Record

    fields = {"incremental": dict(stage=2, eval_set="set1"), "base2new": dict(eval_set="new"),
              "dg": dict(eval_only=True, source_dataset="ImageNet"),
              "cross_dataset": dict(eval_only=True, source_dataset="ImageNet")}
    for protocol in PROTOCOLS:
        run = tmp_path / protocol / "seed1"
        run.mkdir(parents=True)
        Record(method="CoOp", dataset="Caltech101", accuracy=50.0, num_shots=16, protocol=protocol,
               **fields.get(protocol, {})).write(str(run))
    kinds = {e.experiment: describe(e).kind for e in find_experiments(tmp_path)}
    assert kinds == {p: p for p in PROTOCOLS}

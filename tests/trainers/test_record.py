"""trainers/record.py: the Record schema, reading records, the config fingerprint, differences, protocol, code version."""
import json

import pytest

from trainers.record import (
    COST_FIELDS,
    IDENTITY_FIELDS,
    NOT_IN_FINGERPRINT,
    PROTOCOLS,
    RECORD_FILE,
    RECORD_VERSION,
    Record,
    code_version,
    config_differences,
    config_fingerprint,
    describe_differences,
    read_record,
    resolve_protocol,
)
from tests.fixtures import REPO_ROOT

CONFIG = {
    "SEED": 1, "OUTPUT_DIR": "out/seed1", "RESUME": "", "USE_CUDA": True,
    "DATASET": {"ROOT": "/data", "NAME": "Caltech101", "NUM_SHOTS": 4, "SUBSAMPLE_CLASSES": "all", "TRAIN_CLASSES": "all"},
    "DATALOADER": {"NUM_WORKERS": 8, "TRAIN_X": {"BATCH_SIZE": 32}},
    "OPTIM": {"LR": 0.002, "MAX_EPOCH": 50},
    "TRAIN": {"PRINT_FREQ": 5, "CHECKPOINT_FREQ": 1},
    "RUN": {"PROTOCOL": "", "VARIANT": "", "STAGE": 0, "EVAL_SET": "", "SOURCE_DATASET": ""},
    "INPUT": {"SIZE": [224, 224]},
}


def changed(config, key, value):
    copy = json.loads(json.dumps(config))
    node = copy
    *path, last = key.split(".")
    for part in path:
        node = node[part]
    node[last] = value
    return copy


def test_a_record_counts_only_when_it_parses_and_has_an_accuracy(tmp_path):
    assert read_record(str(tmp_path)) is None  # absent
    (tmp_path / RECORD_FILE).write_text('{"accuracy": ')  # killed mid-write (cannot happen, but old runs)
    assert read_record(str(tmp_path)) is None
    (tmp_path / RECORD_FILE).write_text('{"trainer": "LAMM"}')
    assert read_record(str(tmp_path)) is None
    (tmp_path / RECORD_FILE).write_text('[1, 2]')
    assert read_record(str(tmp_path)) is None
    (tmp_path / RECORD_FILE).write_text('{"accuracy": 91.5, "trainer": "LAMM"}')
    assert read_record(str(tmp_path)) == {"accuracy": 91.5, "trainer": "LAMM"}


@pytest.mark.parametrize("key, value", [
    ("SEED", 2), ("OUTPUT_DIR", "elsewhere"), ("DATASET.ROOT", "/other"), ("DATALOADER.NUM_WORKERS", 0),
    ("TRAIN.PRINT_FREQ", 1), ("RUN.VARIANT", "tiny"), ("RUN.PROTOCOL", "fewshot"), ("USE_CUDA", False),
])
def test_the_fingerprint_ignores_seed_paths_and_labels(key, value):
    assert config_fingerprint(changed(CONFIG, key, value)) == config_fingerprint(CONFIG)


@pytest.mark.parametrize("key, value", [
    ("OPTIM.LR", 0.01), ("OPTIM.MAX_EPOCH", 10), ("DATASET.NUM_SHOTS", 16), ("INPUT.SIZE", [32, 32]),
    ("DATALOADER.TRAIN_X.BATCH_SIZE", 8),
])
def test_the_fingerprint_changes_with_what_changes_a_result(key, value):
    fingerprint = config_fingerprint(CONFIG)
    assert len(fingerprint) == 16 and int(fingerprint, 16) >= 0
    assert config_fingerprint(changed(CONFIG, key, value)) != fingerprint


def test_lambda_wc_by_rule_and_by_hand_are_one_computation():
    by_rule = changed(CONFIG, "TRAINER", {"LAMM": {"LAMBDA_WC": -1.0}})
    assert config_fingerprint(changed(by_rule, "TRAINER.LAMM.LAMBDA_WC", 0.25)) == config_fingerprint(by_rule)
    assert config_fingerprint(changed(by_rule, "TRAINER.LAMM.LAMBDA_WC", 1.0)) != config_fingerprint(by_rule)
    sixteen = changed(by_rule, "DATASET.NUM_SHOTS", 16)
    assert ("TRAINER.LAMM.LAMBDA_WC", 0.25, 0.0625) in config_differences(by_rule, sixteen)


def test_a_tuple_and_its_yaml_list_give_one_fingerprint():
    assert config_fingerprint(changed(CONFIG, "INPUT.SIZE", (224, 224))) == config_fingerprint(CONFIG)


def test_differences_name_each_key_with_old_and_new_values():
    new = changed(changed(changed(CONFIG, "OPTIM.LR", 0.01), "SEED", 5), "DATALOADER.NUM_WORKERS", 0)
    new["TRAINER"] = {"LAMM": {"LAMBDA_WC": 1.0}}
    assert config_differences(CONFIG, new) == [("OPTIM.LR", 0.002, 0.01), ("TRAINER.LAMM.LAMBDA_WC", "<absent>", 1.0)]
    rerun_ignores = tuple(key for key in NOT_IN_FINGERPRINT if key != "SEED")
    assert ("SEED", 1, 5) in config_differences(CONFIG, new, ignore=rerun_ignores)
    text = describe_differences(config_differences(CONFIG, new), limit=1)
    assert text == "OPTIM.LR: 0.002 -> 0.01 and 1 more"


@pytest.mark.parametrize("dataset, run, protocol", [
    ({}, {}, "fewshot"),
    ({"SUBSAMPLE_CLASSES": "base"}, {}, "base2new"),
    ({"SUBSAMPLE_CLASSES": "new"}, {}, "base2new"),
    ({"TRAIN_CLASSES": "new"}, {}, "incremental"),
    ({}, {"PROTOCOL": "dg"}, "dg"),
])
def test_the_protocol_is_derived_unless_given(dataset, run, protocol):
    config = json.loads(json.dumps(CONFIG))
    config["DATASET"].update(dataset)
    config["RUN"].update(run)
    assert resolve_protocol(config) == protocol


def test_code_version_in_a_git_checkout_and_outside_one(tmp_path):
    version = code_version(str(REPO_ROOT))
    if (REPO_ROOT / ".git").exists():
        assert len(version["commit"]) == 40 and isinstance(version["dirty"], bool)
    assert code_version(str(tmp_path)) is None  # not a repository: no version, no failure


# --------------------------------------------------------------------------- the schema
def test_a_record_round_trips_through_its_file(tmp_path):
    record = Record(method="CoOpLAMM", dataset="Caltech101", accuracy=91.25, num_shots=4, seed=3,
                    loss={"ce": 1.0, "wc": 0.25}, labels={"tokens": 1, "init": "word"},
                    cost={**dict.fromkeys(COST_FIELDS), "trainable_params": 8192})
    path = record.write(str(tmp_path))
    assert path == str(tmp_path / RECORD_FILE)
    content = json.loads((tmp_path / RECORD_FILE).read_text())
    assert content["trainer"] == content["method"] == "CoOpLAMM"  # the CoOp-era key, kept
    assert content["record_version"] == RECORD_VERSION and set(content["cost"]) == set(COST_FIELDS)
    assert Record.read(str(tmp_path)) == record
    assert read_record(str(tmp_path)) == content


def test_the_identity_fields_are_the_records_own_and_say_what_a_run_is():
    keys = set(Record(method="LAMM", dataset="DescribableTextures", accuracy=1.0).to_dict())
    assert set(IDENTITY_FIELDS) <= keys and IDENTITY_FIELDS[:2] == ("method", "dataset")
    assert not {"accuracy", "seed", "time_s", "cost", "classnames"} & set(IDENTITY_FIELDS)
    a = Record(method="LAMM", dataset="DescribableTextures", accuracy=1.0, seed=1)
    b = Record(method="LAMM", dataset="DescribableTextures", accuracy=2.0, seed=2)
    assert a.identity() == b.identity() and a.identity()["protocol"] in PROTOCOLS


def test_keys_the_schema_does_not_know_are_dropped_on_reading(tmp_path):
    content = {**Record(method="CoOp", dataset="EuroSAT", accuracy=50.0).to_dict(), "from_the_future": 1}
    (tmp_path / RECORD_FILE).write_text(json.dumps(content))
    assert Record.read(str(tmp_path)) == Record(method="CoOp", dataset="EuroSAT", accuracy=50.0)
    (tmp_path / RECORD_FILE).write_text('{"trainer": "CoOp"}')  # no accuracy: not finished
    assert Record.read(str(tmp_path)) is None
    (tmp_path / RECORD_FILE).write_text('{"accuracy": 50.0, "trainer": "CoOp"}')  # some other code's file
    with pytest.raises(ValueError, match="not a run record of this project: no method, dataset"):
        Record.read(str(tmp_path))


def test_the_sweeps_run_exactly_the_protocols_a_record_may_state():
    from tools.runs.protocols import PROTOCOLS as RUNNABLE

    assert set(RUNNABLE) == set(PROTOCOLS)

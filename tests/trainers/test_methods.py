"""trainers/methods.py: one row per trainer, and the registered trainer classes agree with their rows."""
import pytest
from dassl.engine import TRAINER_REGISTRY

import trainers.registered  # noqa: F401  (registers the trainers)
from tests.fixtures import REPO_ROOT
from trainers.methods import METHODS, checkpoint_folders, table_order, trainers_saving_to


@pytest.mark.parametrize("name", list(METHODS))
def test_each_trainer_class_takes_its_flags_from_its_row(name):
    row, cls = METHODS[name], TRAINER_REGISTRY.get(name)
    assert cls.__name__ == row.trainer
    assert getattr(cls, "learn_context", False) == row.learns_context
    assert cls.learn_labels == row.learns_labels
    assert cls.trains_nothing == (not row.few_shot)
    assert cls.options_node == row.options_node
    assert getattr(cls, "model_name", "") == row.checkpoint_folder


def test_every_registered_trainer_of_the_project_has_a_row():
    ours = {name for name in TRAINER_REGISTRY.registered_names()
            if TRAINER_REGISTRY.get(name).__module__.startswith("trainers.")}
    assert ours == set(METHODS)


def test_every_method_has_its_configs_and_its_script_folder_where_it_names_one():
    for m in METHODS.values():
        assert m.config_file(16 if m.few_shot else None).is_file()
        if m.script_dir:  # a method without one runs through scripts/main.sh
            assert (REPO_ROOT / "scripts" / m.script_dir).is_dir()


def test_the_tables_order_and_labels_are_the_papers():
    assert table_order() == ("ZeroshotCLIP", "LAMM", "CoOp", "CoOpLAMM", "MaPLe", "MaPLeLAMM")
    assert [METHODS[t].label for t in table_order()] == [
        "Zero-shot CLIP", "LAMM", "CoOp", "CoOp+LAMM", "MaPLe", "MaPLe+LAMM"]
    assert METHODS["CoOp"].config_name(4) == "vit_b16_ep50_ctxv1_4shots"
    assert METHODS["ZeroshotCLIP"].config_name(None) == "vit_b16"


def test_checkpoint_folders_name_the_trainers_that_write_them():
    assert checkpoint_folders() == ("prompt_learner", "MultiModalPromptLearner")
    assert trainers_saving_to("MultiModalPromptLearner") == ("MaPLe", "MaPLeLAMM")
    assert trainers_saving_to("prompt_learner") == ("CoOp", "CoOpLAMM", "LAMM")

"""trainers/methods.py: one row per trainer, and the registered trainer classes agree with their rows."""
import pytest
from dassl.engine import TRAINER_REGISTRY

import trainers.registered  # noqa: F401  (registers the trainers)
from tests.fixtures import REPO_ROOT
from trainers.methods import METHODS, checkpoint_folders, table_order, trainers_saving_to


@pytest.mark.parametrize("name", list(METHODS))
def test_each_trainer_class_takes_its_flags_from_its_row(name):
    row, cls = METHODS[name], TRAINER_REGISTRY.get(name)
    assert cls.__name__ == row.trainer and cls.__module__ == f"trainers.{row.module}"
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


# The paper's rows in its order, as it labels them (a new method may go anywhere between them).
PAPER_ROWS = {"ZeroshotCLIP": "Zero-shot CLIP", "LAMM": "LAMM", "CoOp": "CoOp", "CoOpLAMM": "CoOp+LAMM",
              "MaPLe": "MaPLe", "MaPLeLAMM": "MaPLe+LAMM"}


def test_the_papers_methods_keep_its_order_and_labels():
    assert [t for t in table_order() if t in PAPER_ROWS] == list(PAPER_ROWS)
    assert {t: METHODS[t].label for t in PAPER_ROWS} == PAPER_ROWS
    assert METHODS["CoOp"].config_name(4) == "vit_b16_ep50_ctxv1_4shots"
    assert METHODS["ZeroshotCLIP"].config_name(None) == "vit_b16"


def test_checkpoint_folders_name_the_trainers_that_write_them():
    assert {"prompt_learner", "MultiModalPromptLearner"} <= set(checkpoint_folders())
    for folder in checkpoint_folders():
        writers = sorted(t for t, m in METHODS.items() if m.checkpoint_folder == folder)
        assert trainers_saving_to(folder) == tuple(writers)
    maple = set(trainers_saving_to("MultiModalPromptLearner"))
    assert {"MaPLe", "MaPLeLAMM"} <= maple and not maple & {"CoOp", "CoOpLAMM", "LAMM", "ZeroshotCLIP"}

"""trainers/prompt_trainer.py: each trainer on the tiny CLIP learns exactly its own tensors."""
import pytest
import torch

from tests.fixtures import LEARNING_TRAINERS, tiny_trainer

LABELS = ["label_embeddings.vectors"]
MAPLE = ["ctx", "proj.weight", "proj.bias", "compound_prompts_text.0", "compound_prompts_text.1",
         "compound_prompt_projections.0.weight", "compound_prompt_projections.0.bias",
         "compound_prompt_projections.1.weight", "compound_prompt_projections.1.bias"]
META_NET = ["meta_net.linear1.weight", "meta_net.linear1.bias", "meta_net.linear2.weight", "meta_net.linear2.bias"]
LEARNED = {"LAMM": LABELS, "CoOp": ["ctx"], "CoOpLAMM": ["ctx"] + LABELS, "MaPLe": MAPLE, "MaPLeLAMM": MAPLE + LABELS,
           "CoCoOp": ["ctx"] + META_NET, "CoCoOpLAMM": ["ctx"] + META_NET + LABELS}


@pytest.mark.parametrize("trainer_name", list(LEARNING_TRAINERS))
def test_a_training_step_changes_exactly_what_the_trainer_learns(trainer_name, caltech_root, tiny_clip_file, tmp_path):
    trainer = tiny_trainer(trainer_name, caltech_root, tiny_clip_file, tmp_path / "run")
    model = trainer.model
    learner = model.prompt_learner
    before = {k: v.clone() for k, v in model.state_dict().items()}
    trainable = sorted(name for name, p in learner.named_parameters() if p.requires_grad)
    assert trainable == sorted(LEARNED[trainer_name])

    trainer.set_model_mode("train")
    trainer.num_batches = len(trainer.train_loader_x)
    trainer.optim.param_groups[0]["lr"] = 0.1  # skip the 1e-5 warmup so every change is visible
    for trainer.batch_idx, batch in enumerate(trainer.train_loader_x):
        summary = trainer.forward_backward(batch)
        assert all(torch.isfinite(torch.tensor(v)) for v in summary.values())

    changed = {k for k, v in model.state_dict().items() if not torch.equal(v, before[k])}
    assert changed == {f"prompt_learner.{name}" for name in LEARNED[trainer_name]}
    for name, param in learner.named_parameters():
        if param.requires_grad:
            assert param.grad is not None and torch.isfinite(param.grad).all(), name
    expected_terms = {"loss", "acc", "ce", "wc", "cos", "kd"} if "LAMM" in trainer_name else {"loss", "acc"}
    assert set(summary) == expected_terms


def test_the_label_embeddings_carry_the_datasets_class_ids(caltech_root, tiny_clip_file, tmp_path):
    trainer = tiny_trainer("LAMM", caltech_root, tiny_clip_file, tmp_path / "run", "DATASET.SUBSAMPLE_CLASSES", "new")
    class_ids = trainer.dm.dataset.class_ids
    assert list(class_ids) == [2, 3]  # the second half of the 4 classes
    assert trainer.model.prompt_learner.label_embeddings.class_ids.tolist() == list(class_ids)
    assert trainer.checkpoint_meta()["class_ids"] == [2, 3]

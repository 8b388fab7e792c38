"""lamm/label_embeddings.py: labels written into their slots, and a label state of another slot count
(labels adopted from another model: tests/trainers/test_checkpoints.py) loads."""
import torch

from lamm.prompt_learner import PromptLearner
from tests.helpers import tiny_clip


def test_a_label_state_of_another_slot_count_loads_and_keeps_training():
    clip_model = tiny_clip()
    make = lambda names: PromptLearner(clip_model.token_embedding, names, context_init="a photo of a",
                                       learn_context=False, label_tokens="all").label_embeddings
    labels, other = make(["cat", "dog"]), make(["sea lion", "a very long class name"])
    assert other.num_slots > labels.num_slots
    with torch.no_grad():
        other.vectors.add_(1.0)
    labels.load_slots(other.state_dict())
    assert labels.num_slots == other.num_slots and labels.vectors.requires_grad
    for name, value in other.state_dict().items():
        if name not in ("class_ids", "class_name_hashes"):  # they say which classes this model has
            torch.testing.assert_close(getattr(labels, name), value, rtol=0, atol=0, msg=name)
    assert labels.first_position() == other.first_position()
    assert labels.class_ids.tolist() == [0, 1]

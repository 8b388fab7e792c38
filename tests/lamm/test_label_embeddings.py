"""lamm/label_embeddings.py: labels belong to class ids, move between label spaces, and freeze."""
import torch

from tests.helpers import tiny_clip


def test_label_embeddings_move_between_label_spaces_by_class_id():
    clip_model = tiny_clip()
    from lamm.prompt_learner import PromptLearner

    names = ["cat", "dog", "sea lion", "car"]
    source = PromptLearner(clip_model.token_embedding, names, context_init="a photo of a", learn_context=False,
                           label_tokens="all")
    with torch.no_grad():
        source.label_embeddings.vectors.add_(torch.randn_like(source.label_embeddings.vectors))
    # A subset of the classes, ordered differently, as ImageNet-A's 200 of ImageNet's 1000.
    target = PromptLearner(clip_model.token_embedding, ["car", "sea lion"], context_init="a photo of a",
                           learn_context=False, label_tokens="all", class_ids=[3, 2])
    state = {k[len("label_embeddings."):]: v for k, v in source.state_dict().items() if k.startswith("label_embeddings.")}
    assert target.label_embeddings.adopt(state) == 2
    torch.testing.assert_close(target()[0], source()[0][[3, 2]])

    # Frozen adoption keeps the old classes exactly while the new ones train.
    incremental = PromptLearner(clip_model.token_embedding, names, context_init="a photo of a", learn_context=False,
                                label_tokens="all")
    subset = {key: value for key, value in state.items()}
    keep = state["class_index"] < 2
    for key in ("vectors", "anchor", "class_index", "positions"):
        subset[key] = state[key][keep]
    subset["class_ids"] = torch.tensor([0, 1])
    incremental.label_embeddings.adopt(subset, freeze=True)
    assert set(incremental.label_embeddings.class_index.tolist()) == {2, 3}
    torch.testing.assert_close(incremental()[0][:2], source()[0][:2])

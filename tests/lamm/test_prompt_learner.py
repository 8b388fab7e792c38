"""Prompt composition: layouts, label embeddings and the prompts they produce."""
import pytest
import torch
import torch.nn.functional as F

from lamm.errors import ConfigError
from lamm.model import PromptedCLIP
from lamm.prompt_layout import build_prompt_layout, count_tokens
from lamm.prompt_learner import PromptLearner
from tests.helpers import CLASSNAMES, plain_clip_text_features, tiny_clip

SPOKEN_NAMES = [name.replace("_", " ") for name in CLASSNAMES]


def make_learner(clip_model, label_tokens="shortest", **kwargs):
    options = dict(context_init="a photo of a", learn_context=False, label_tokens=label_tokens)
    options.update(kwargs)
    return PromptLearner(clip_model.token_embedding, CLASSNAMES, **options)


def encode(model, prompts_and_eot):
    with torch.no_grad():
        return model._encode(prompts_and_eot)


@pytest.mark.parametrize("label_tokens", ["shortest", "all"])
def test_label_embeddings_at_init_reproduce_the_plain_prompt(label_tokens):
    clip_model = tiny_clip()
    learner = make_learner(clip_model, label_tokens)
    model = PromptedCLIP(clip_model, learner)
    expected = plain_clip_text_features(clip_model, [f"a photo of a {name}." for name in SPOKEN_NAMES])
    torch.testing.assert_close(encode(model, learner()), expected, atol=1e-5, rtol=0)
    torch.testing.assert_close(encode(model, learner.original_prompts()), expected, atol=1e-5, rtol=0)


def test_shortest_mode_learns_the_first_min_len_tokens_of_every_name():
    learner = make_learner(tiny_clip(), "shortest")
    lengths = [count_tokens(name) for name in SPOKEN_NAMES]
    min_len = min(lengths)
    labels = learner.label_embeddings
    assert labels.num_slots == len(CLASSNAMES) * min_len
    assert labels.class_index.tolist() == [c for c in range(len(CLASSNAMES)) for _ in range(min_len)]
    # "a photo of a" is 4 tokens after SOS, so every name starts at position 5.
    assert labels.positions.tolist() == [5 + k for _ in CLASSNAMES for k in range(min_len)]
    # The year of a car name is four digit tokens: the longer names keep their other tokens fixed.
    assert lengths[3] > min_len


def test_all_mode_learns_every_token_and_one_mode_one_vector_per_class():
    clip_model = tiny_clip()
    lengths = [count_tokens(name) for name in SPOKEN_NAMES]
    assert make_learner(clip_model, "all").label_embeddings.num_slots == sum(lengths)
    one = make_learner(clip_model, "one")
    assert one.label_embeddings.num_slots == len(CLASSNAMES)
    # Each vector starts at the mean of its name's word embeddings.
    words = clip_model.token_embedding.weight.detach()
    from lamm.prompt_layout import tokenizer
    car = torch.tensor(tokenizer().encode(SPOKEN_NAMES[3]))
    torch.testing.assert_close(one.label_embeddings.vectors[3], words[car].mean(0))
    prompts, eot = one()
    assert eot.tolist() == [7] * len(CLASSNAMES)  # SOS + 4 context + 1 label + "." -> EOT at 7


def test_repeated_class_names_get_separate_embeddings():
    # ImageNet's list has "missile" and "sunglasses" twice: embeddings belong to indices.
    clip_model = tiny_clip()
    learner = PromptLearner(clip_model.token_embedding, ["missile", "cat", "missile"],
                            context_init="a photo of a", learn_context=False, label_tokens="shortest")
    labels = learner.label_embeddings
    assert labels.class_index.tolist() == [0, 1, 2]
    with torch.no_grad():
        labels.vectors[0] += 1.0
    prompts, _ = learner()
    assert not torch.allclose(prompts[0], prompts[2])
    torch.testing.assert_close(prompts[2], learner.original_prompts()[0][2])


def test_random_init_anchors_the_parameter_loss_to_the_random_start():
    torch.manual_seed(0)
    learner = make_learner(tiny_clip(), "shortest", label_init="random")
    labels = learner.label_embeddings
    torch.testing.assert_close(labels.vectors.detach(), labels.anchor)
    assert labels.vectors.std().item() == pytest.approx(0.02, rel=0.5)


@pytest.mark.parametrize("position", ["end", "middle", "front"])
def test_context_slots_for_each_class_token_position(position):
    names = ["cat", "sports car"]
    layout = build_prompt_layout(names, n_ctx=4, class_token_position=position)
    for row, name_length in enumerate([1, 2]):
        context = layout.context_positions[row].tolist()
        start = int(layout.name_starts[row])
        name_slots = list(range(start, start + name_length))
        assert len(context) == 4 and not set(context) & set(name_slots)
        # Context and name fill positions 1.. without gaps, then "." and EOT.
        assert sorted(context + name_slots) == list(range(1, 5 + name_length))
        assert int(layout.eot_indices[row]) == 5 + name_length + 1


def test_coop_context_is_learnable_and_class_specific_when_asked():
    clip_model = tiny_clip()
    learner = PromptLearner(clip_model.token_embedding, CLASSNAMES, n_ctx=4, class_specific_context=True,
                            label_tokens=None)
    assert learner.ctx.shape == (len(CLASSNAMES), 4, clip_model.token_embedding.weight.shape[1])
    assert learner.ctx.requires_grad and learner.label_embeddings is None
    prompts, _ = learner()
    torch.testing.assert_close(prompts[:, 1:5], learner.ctx.detach())


def test_unknown_label_mode_is_rejected():
    with pytest.raises(ConfigError, match="LABEL_TOKENS"):
        make_learner(tiny_clip(), "every")
    with pytest.raises(ConfigError, match="class token position"):
        build_prompt_layout(["cat"], 4, "start")


def test_gradients_reach_only_the_label_embeddings():
    clip_model = tiny_clip()
    learner = make_learner(clip_model, "shortest")
    model = PromptedCLIP(clip_model, learner)
    for name, param in model.named_parameters():
        param.requires_grad_(name == "prompt_learner.label_embeddings.vectors")
    logits = model(torch.randn(2, 3, 32, 32))
    F.cross_entropy(logits, torch.tensor([0, 1])).backward()
    grads = {name: p.grad for name, p in model.named_parameters() if p.grad is not None}
    assert list(grads) == ["prompt_learner.label_embeddings.vectors"]
    assert grads["prompt_learner.label_embeddings.vectors"].abs().sum() > 0


@pytest.mark.parametrize("label_tokens", ["shortest", "one"])
def test_a_truncated_learner_keeps_the_tokens_up_to_the_longest_end_of_text(label_tokens):
    clip_model = tiny_clip()
    full = make_learner(clip_model, label_tokens)
    truncated = make_learner(clip_model, label_tokens, truncate_after_eot=True)
    (prompts, eot), (full_prompts, full_eot) = truncated(), full()
    longest = max(int(full.name_eot_indices.max()), int(full_eot.max())) + 1
    assert full_prompts.shape[1] == 77 and truncated.prompt_length == longest < 77
    assert prompts.shape[1] == longest and torch.equal(eot, full_eot)
    torch.testing.assert_close(prompts, full_prompts[:, :longest], atol=0, rtol=0)
    # Learned and original prompts have one length, so the model can join them.
    assert truncated.original_prompts()[0].shape == prompts.shape


def test_coop_with_its_initial_context_is_zero_shot_clip():
    clip_model = tiny_clip()
    from lamm.prompt_learner import PromptLearner

    learner = PromptLearner(clip_model.token_embedding, CLASSNAMES, context_init="a photo of a")
    model = PromptedCLIP(clip_model, learner)
    images = torch.randn(3, 3, 32, 32)
    with torch.no_grad():
        logits = model(images)
        image_features = F.normalize(clip_model.encode_image(images), dim=-1)
    text = plain_clip_text_features(clip_model, [f"a photo of a {n.replace('_', ' ')}." for n in CLASSNAMES])
    torch.testing.assert_close(logits, clip_model.logit_scale.exp() * image_features @ text.t(), atol=1e-4, rtol=1e-4)

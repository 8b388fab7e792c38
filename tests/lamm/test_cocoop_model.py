"""lamm/cocoop_model.py: CoCoOp's logits, loss and gradients equal a hand-built CoCoOp, with the
shortcuts off bit for bit and on within float noise; CoCoOp + LAMM's original prompts."""
import pytest
import torch
import torch.nn.functional as F

from lamm.cocoop_model import ConditionalPromptedCLIP
from lamm.cocoop_prompts import ConditionalPromptLearner
from lamm.model import OFFICIAL, Shortcuts
from tests.helpers import STEP_NAMES, plain_clip_text_features, reference_cocoop, tiny_clip


def cocoop_model(shortcuts, checkpointing=False, seed=1, **options):
    clip_model = tiny_clip()
    for p in clip_model.parameters():
        p.requires_grad_(False)
    torch.manual_seed(seed)
    learner = ConditionalPromptLearner(clip_model.token_embedding, STEP_NAMES, image_dim=clip_model.visual.output_dim,
                                       context_init="a photo of a", truncate_after_eot=shortcuts.truncate_prompts,
                                       **options)
    with torch.no_grad():  # move the context and the Meta-Net away from their start
        for p in learner.parameters():
            if p.requires_grad:
                p.add_(torch.randn_like(p) * 0.3)
    return clip_model, ConditionalPromptedCLIP(clip_model, learner, shortcuts=shortcuts,
                                               text_checkpointing=checkpointing)


def batch():
    torch.manual_seed(2)
    return torch.randn(3, 3, 32, 32), torch.tensor([0, 5, 7])


def ours(model, images, labels):
    outputs = model.forward_features(images, with_original=False)
    loss = F.cross_entropy(outputs["logits"], labels)
    loss.backward()
    grads = {name: p.grad.clone() for name, p in model.prompt_learner.named_parameters() if p.requires_grad}
    return outputs["logits"].detach(), loss.detach(), grads


def reference(clip_model, model, images, labels):
    learner = model.prompt_learner
    ctx = learner.ctx.detach().clone().requires_grad_(True)
    meta_net = {name: torch.nn.Linear(layer.in_features, layer.out_features)
                for name, layer in learner.meta_net.named_children() if isinstance(layer, torch.nn.Linear)}
    for name, layer in meta_net.items():
        layer.load_state_dict(getattr(learner.meta_net, name).state_dict())
    logits, loss = reference_cocoop(clip_model, STEP_NAMES, ctx, meta_net, images, labels)
    loss.backward()
    grads = {"ctx": ctx.grad}
    for name, layer in meta_net.items():
        grads[f"meta_net.{name}.weight"], grads[f"meta_net.{name}.bias"] = layer.weight.grad, layer.bias.grad
    return logits.detach(), loss.detach(), grads


def test_shortcuts_off_equal_the_hand_built_cocoop_bit_for_bit():
    clip_model, model = cocoop_model(OFFICIAL)
    images, labels = batch()
    logits, loss, grads = ours(model, images, labels)
    ref_logits, ref_loss, ref_grads = reference(clip_model, model, images, labels)
    torch.testing.assert_close(logits, ref_logits, rtol=0, atol=0)
    torch.testing.assert_close(loss, ref_loss, rtol=0, atol=0)
    assert sorted(grads) == sorted(ref_grads)
    for name in grads:
        torch.testing.assert_close(grads[name], ref_grads[name], rtol=0, atol=0, msg=name)
        assert grads[name].abs().sum() > 0, name
    with torch.no_grad():
        torch.testing.assert_close(model(images), ref_logits, rtol=0, atol=0)


@pytest.mark.parametrize("shortcuts, checkpointing", [
    (Shortcuts(truncate_prompts=True, share_prompt_prefix=False), False),
    (Shortcuts(truncate_prompts=True, share_prompt_prefix=True), False),
    (Shortcuts(truncate_prompts=True, share_prompt_prefix=True), True),
    (Shortcuts(truncate_prompts=False, share_prompt_prefix=False), True),
])
def test_shortcuts_on_equal_the_hand_built_cocoop_within_float_noise(shortcuts, checkpointing):
    clip_model, model = cocoop_model(shortcuts, checkpointing)
    images, labels = batch()
    logits, loss, grads = ours(model, images, labels)
    ref_logits, ref_loss, ref_grads = reference(clip_model, model, images, labels)
    torch.testing.assert_close(logits, ref_logits, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(loss, ref_loss, rtol=1e-5, atol=1e-6)
    for name in grads:
        torch.testing.assert_close(grads[name], ref_grads[name], rtol=1e-4, atol=1e-6, msg=name)


def test_the_shortcuts_run_fewer_tokens_through_the_text_tower():
    lengths = {}
    for name, shortcuts in (("off", OFFICIAL), ("on", Shortcuts())):
        clip_model, model = cocoop_model(shortcuts)
        seen = []
        hook = clip_model.transformer.resblocks[0].ln_1.register_forward_hook(
            lambda module, args, output: seen.append(output.shape[0] * output.shape[1]))
        with torch.no_grad():
            model(batch()[0])
        hook.remove()
        lengths[name] = sum(seen)
    # off: 3 images x 8 classes x 77 tokens; on: only up to the longest end-of-text token, the
    # [SOS] + context prefix once per image
    assert lengths["off"] == 3 * len(STEP_NAMES) * 77
    assert lengths["on"] < lengths["off"] / 3


# ---------------------------------------------------------------- CoCoOp + LAMM

def test_at_initialisation_the_labels_reproduce_cocoops_features():
    images = batch()[0]
    _, plain = cocoop_model(OFFICIAL)
    _, with_labels = cocoop_model(OFFICIAL, label_tokens="shortest")
    with_labels.prompt_learner.load_state_dict(plain.prompt_learner.state_dict(), strict=False)
    labels = with_labels.prompt_learner.label_embeddings
    with torch.no_grad():
        labels.vectors.copy_(labels.anchor)  # their initial value, the names' word embeddings
        image_features = plain.encode_images(images)
        torch.testing.assert_close(with_labels.conditional_text_features(image_features),
                                   plain.conditional_text_features(image_features), rtol=0, atol=0)


def test_the_current_original_prompt_is_the_name_under_the_images_own_context():
    _, model = cocoop_model(Shortcuts(), label_tokens="shortest")
    with torch.no_grad():
        model.prompt_learner.label_embeddings.vectors.add_(1.0)  # labels away from the names
        outputs = model.forward_features(batch()[0])
        _, plain = cocoop_model(Shortcuts())
        plain.prompt_learner.load_state_dict(model.prompt_learner.state_dict(), strict=False)
        expected = plain.conditional_text_features(outputs["image_features"])
    assert outputs["original_text_features"].shape == (3, len(STEP_NAMES), 32)
    torch.testing.assert_close(outputs["original_text_features"], expected, rtol=1e-5, atol=1e-6)
    assert not torch.allclose(outputs["text_features"], expected, atol=1e-3)
    torch.testing.assert_close(outputs["original_logits"], plain.conditional_logits(outputs["image_features"], expected))


def test_the_initial_original_prompt_is_the_hand_made_one_computed_once():
    clip_model, model = cocoop_model(Shortcuts(), label_tokens="shortest")
    model.original_uses_initial_context = True
    calls = []
    model.text_encoder.register_forward_hook(lambda *args: calls.append(1))
    first = model.forward_features(batch()[0])
    second = model.forward_features(batch()[0] + 1)
    hand_made = plain_clip_text_features(clip_model, [f"a photo of a {n.replace('_', ' ')}." for n in STEP_NAMES])
    torch.testing.assert_close(first["original_text_features"], hand_made, rtol=1e-5, atol=1e-6)
    assert second["original_text_features"] is first["original_text_features"]
    assert len(calls) == 1 + 3 + 3  # the original prompts once; the learned ones per image, twice


def test_the_sos_and_context_prefix_is_computed_once_per_image():
    clip_model, model = cocoop_model(Shortcuts())
    shapes = []
    hook = clip_model.transformer.resblocks[0].mlp.register_forward_pre_hook(lambda m, a: shapes.append(a[0].shape))
    with torch.no_grad():
        model(batch()[0])
    hook.remove()
    eot = int(model.prompt_learner.name_eot_indices.max())
    # per image: [SOS] + 4 context vectors once, then the rest of every class's prompt
    assert shapes == [(5, 1, 64), (eot + 1 - 5, len(STEP_NAMES), 64)] * 3


def test_asking_for_one_classifier_for_all_images_is_a_clear_error():
    from lamm.errors import ConfigError

    _, model = cocoop_model(Shortcuts())
    with pytest.raises(ConfigError, match="text features depend on each image: a CoCoOp model has no fixed"):
        model.text_features()

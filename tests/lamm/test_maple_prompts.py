"""MaPLe's multi-modal prompts (lamm/maple_prompts.py): depth, deep prompts in both towers, label
positions, and the official MaPLe + LAMM layout.

The official layout's reference is built by hand the way the official MaPLe + LAMM code builds it,
token by token: the plain prompt "a photo of a <name>." is tokenized and embedded; the first two
context slots hold MaPLe's context, the slot of "of" holds the label (the name tokenized alone, its
first token); the original prompt keeps "of". The text and image towers are MaPLe's, run over
CLIP's own blocks at full length, and each loss term is written out as the official code writes it.
"""
import clip
import pytest
import torch
import torch.nn.functional as F

from lamm.hierarchical_loss import HierarchicalLoss
from lamm.maple_prompts import MultiModalPromptLearner
from lamm.model import OFFICIAL, PromptedCLIP, Shortcuts
from lamm.vision_encoder import PromptedVisionTransformer
from tests.helpers import CLASSNAMES, plain_clip_text_features, tiny_clip
from trainers.checkpoints import adopt_labels

NAMES = CLASSNAMES + ["sea lion"]  # one-, two- and many-token names (the car's year is 4 digits)
CTX_INIT, N_CTX, DEPTH = "a photo of a", 2, 3


def maple_learner(clip_model, depth, **kwargs):
    return MultiModalPromptLearner(clip_model.token_embedding, CLASSNAMES, prompt_depth=depth, vision_width=64,
                                   text_layers=3, vision_layers=3, n_ctx=2, context_init="a photo of a", **kwargs)


def test_maple_at_depth_one_keeps_clip_text_features_and_the_vision_tower_without_prompts_is_clip():
    clip_model = tiny_clip()
    model = PromptedCLIP(clip_model, maple_learner(clip_model, depth=1))
    with torch.no_grad():
        text = model.text_features()
        images = torch.randn(2, 3, 32, 32)
        plain_vision = PromptedVisionTransformer(clip_model.visual)(images)
        torch.testing.assert_close(plain_vision, clip_model.visual(images), atol=1e-5, rtol=1e-5)
    # MaPLe learns "a photo" and keeps "of a" as words: at init that is CLIP's prompt.
    expected = plain_clip_text_features(clip_model, [f"a photo of a {n.replace('_', ' ')}." for n in CLASSNAMES])
    torch.testing.assert_close(text, expected, atol=1e-5, rtol=1e-5)


def capture_layer_inputs(blocks):
    """Record the input of every block (the argument of its first LayerNorm)."""
    inputs, handles = [], []
    for block in blocks:
        handles.append(block.ln_1.register_forward_pre_hook(lambda module, args: inputs.append(args[0].detach().clone())))
    return inputs, handles


def test_maple_deep_prompts_reach_layers_1_to_depth_minus_1_of_both_encoders():
    clip_model = tiny_clip()
    learner = maple_learner(clip_model, depth=2)  # one deep prompt, at layer 1; layer 2 gets none
    # Without prefix sharing each block sees the whole sequence once, which the hooks record.
    model = PromptedCLIP(clip_model, learner, shortcuts=Shortcuts(share_prompt_prefix=False))
    text_inputs, text_hooks = capture_layer_inputs(clip_model.transformer.resblocks)
    vision_inputs, vision_hooks = capture_layer_inputs(clip_model.visual.transformer.resblocks)
    with torch.no_grad():
        model.encode_images(torch.randn(2, 3, 32, 32))
        model._encode(learner())
    for handle in text_hooks + vision_hooks:
        handle.remove()
    deep_text = learner.compound_prompts_text[0]
    _, deep_vision = learner.vision_prompts()
    # Text: positions 1..n_ctx of the layer-1 input are the deep prompt, of layer 2 they are not.
    torch.testing.assert_close(text_inputs[1][1:3], deep_text.detach().unsqueeze(1).expand(-1, len(CLASSNAMES), -1))
    assert not torch.allclose(text_inputs[2][1:3, 0], deep_text.detach())
    # Vision: the last n_ctx tokens of the layer-1 input are the projected deep prompt.
    torch.testing.assert_close(vision_inputs[1][-2:], deep_vision[0].detach().unsqueeze(1).expand(-1, 2, -1))
    assert not torch.allclose(vision_inputs[2][-2:, 0], deep_vision[0].detach())

    with torch.no_grad():
        before = model._encode(learner())
        learner.compound_prompts_text[0].add_(torch.randn(2, 64))
        assert not torch.allclose(model._encode(learner()), before)


def test_maple_label_embeddings_sit_where_the_class_name_is():
    clip_model = tiny_clip()
    learner = maple_learner(clip_model, depth=2, label_tokens="shortest")
    # [SOS] v1 v2 "of" "a" <name...>: the name starts at position 5, not at "of" (position 3).
    assert learner.label_embeddings.positions.min().item() == 5


def official_learner(clip_model, label_init="word"):
    return MultiModalPromptLearner(clip_model.token_embedding, NAMES, prompt_depth=DEPTH, vision_width=64,
                                   text_layers=3, vision_layers=3, n_ctx=N_CTX, context_init=CTX_INIT,
                                   label_tokens="shortest", label_init=label_init, label_placement="official")


def hand_built(clip_model):
    """The official code's tensors: tokens, ctx, token_classes and the prompt pieces around them."""
    names = [name.replace("_", " ") for name in NAMES]
    tokens = torch.cat([clip.tokenize(f"{CTX_INIT} {name}.") for name in names])  # (n_cls, 77)
    with torch.no_grad():
        embedding = clip_model.token_embedding(tokens)
        ctx = clip_model.token_embedding(clip.tokenize(CTX_INIT))[0, 1:1 + N_CTX]
        token_classes = torch.cat([clip_model.token_embedding(clip.tokenize(name)) for name in names])[:, 1:2]
    return {
        "tokens": tokens, "ctx": ctx, "token_classes": token_classes,
        "prefix": embedding[:, :1],  # SOS
        "suffix": embedding[:, 1 + 1 + N_CTX:],  # min_len = 1: "a <name> . EOS ..."
        "suffix_test": embedding[:, 1 + N_CTX:],  # "of a <name> . EOS ..."
    }


def official_prompts(pieces, ctx, token_classes):
    n_cls = pieces["prefix"].shape[0]
    ctx = ctx.unsqueeze(0).expand(n_cls, -1, -1)
    learned = torch.cat([pieces["prefix"], ctx, token_classes, pieces["suffix"]], dim=1)
    original = torch.cat([pieces["prefix"], ctx, pieces["suffix_test"]], dim=1)
    return learned, original


def official_text_features(clip_model, prompts, tokens, deep):
    """MaPLe's text encoder: all 77 tokens; deep prompt i replaces tokens 1..n_ctx at layer i+1."""
    x = (prompts + clip_model.positional_embedding).permute(1, 0, 2)
    for layer, block in enumerate(clip_model.transformer.resblocks):
        if 1 <= layer <= len(deep):
            x = torch.cat([x[:1], deep[layer - 1].unsqueeze(1).expand(-1, x.shape[1], -1), x[1 + N_CTX:]])
        x = block(x)
    x = clip_model.ln_final(x.permute(1, 0, 2))
    return x[torch.arange(x.shape[0]), tokens.argmax(dim=-1)] @ clip_model.text_projection


def official_image_features(clip_model, images, shared, deep):
    """MaPLe's vision encoder: prompts appended after the patches, the last n_ctx replaced deeper."""
    visual = clip_model.visual
    x = visual.conv1(images)
    x = x.reshape(x.shape[0], x.shape[1], -1).permute(0, 2, 1)
    cls = visual.class_embedding + torch.zeros(x.shape[0], 1, x.shape[-1])
    x = torch.cat([cls, x], dim=1) + visual.positional_embedding
    x = torch.cat([x, shared.expand(x.shape[0], -1, -1)], dim=1)
    x = visual.ln_pre(x).permute(1, 0, 2)
    for layer, block in enumerate(visual.transformer.resblocks):
        if 1 <= layer <= len(deep):
            x = torch.cat([x[:-N_CTX], deep[layer - 1].unsqueeze(1).expand(-1, x.shape[1], -1)])
        x = block(x)
    return visual.ln_post(x.permute(1, 0, 2)[:, 0]) @ visual.proj


def official_loss_terms(logits, fix_logits, text_features, fix_features, labels, token_classes, fix_token):
    count, cos = 0, torch.tensor(0.0)
    for i in range(labels.shape[0]):  # FeatureLoss: a per-sample mean over samples with another label
        if torch.sum(labels != labels[i]) > 0:
            index = labels[i]
            cos = cos + (1 - F.cosine_similarity(text_features[index].unsqueeze(0),
                                                 fix_features[index].unsqueeze(0).detach()).squeeze())
            count += 1
    p = F.softmax(logits / 2.0, dim=1)  # distillation(logits, fix_logits, T=2)
    return {
        "ce": F.cross_entropy(logits, labels),
        "wc": F.mse_loss(token_classes, fix_token.detach(), reduction="sum"),
        "cos": cos / count if count else cos,
        "kd": F.cross_entropy(fix_logits / 2.0, p, reduction="mean") * 4.0,
    }


def test_the_official_layout_builds_the_official_prompts_token_by_token():
    clip_model = tiny_clip()
    torch.manual_seed(1)
    learner = official_learner(clip_model)
    pieces = hand_built(clip_model)
    labels = learner.label_embeddings
    # One label per class, in the slot of "of" (SOS, 2 context vectors, then position 3).
    assert labels.class_index.tolist() == list(range(len(NAMES)))
    assert labels.positions.tolist() == [1 + N_CTX] * len(NAMES)
    # Initialised and anchored (fix_token) as the official code: the name's first token.
    torch.testing.assert_close(labels.vectors.detach(), pieces["token_classes"][:, 0], rtol=0, atol=0)
    torch.testing.assert_close(labels.anchor, pieces["token_classes"][:, 0], rtol=0, atol=0)
    torch.testing.assert_close(learner.ctx.detach(), pieces["ctx"], rtol=0, atol=0)

    learned, original = official_prompts(pieces, pieces["ctx"], pieces["token_classes"])
    prompts, eot = learner()
    torch.testing.assert_close(prompts, learned, rtol=0, atol=0)
    assert eot.tolist() == pieces["tokens"].argmax(dim=-1).tolist()
    original_prompts, original_eot = learner.original_prompts()
    torch.testing.assert_close(original_prompts, original, rtol=0, atol=0)
    assert original_eot.tolist() == eot.tolist()
    # Not the default layout: that one writes over the class name instead.
    default = MultiModalPromptLearner(clip_model.token_embedding, NAMES, prompt_depth=DEPTH, vision_width=64,
                                      text_layers=3, vision_layers=3, n_ctx=N_CTX, context_init=CTX_INIT,
                                      label_tokens="shortest")
    assert default.label_embeddings.positions.min() == 1 + N_CTX + 2
    assert not torch.equal(default()[0], prompts)


@pytest.mark.parametrize("shortcuts", [Shortcuts(), OFFICIAL], ids=["shortcuts_on", "shortcuts_off"])
def test_logits_loss_terms_and_gradients_equal_the_official_computation(shortcuts):
    clip_model = tiny_clip()
    for p in clip_model.parameters():
        p.requires_grad_(False)
    torch.manual_seed(1)
    learner = official_learner(clip_model)
    pieces = hand_built(clip_model)
    with torch.no_grad():  # move every learnable tensor away from its start
        for p in learner.parameters():
            if p.requires_grad:
                p.add_(torch.randn_like(p) * 0.05)
    model = PromptedCLIP(clip_model, learner, shortcuts=shortcuts)
    torch.manual_seed(2)
    images, labels = torch.randn(6, 3, 32, 32), torch.tensor([0, 1, 1, 3, 4, 5])

    outputs = model.forward_features(images)
    criterion = HierarchicalLoss(lambda_wc=1.0)  # the official λ1
    vectors = learner.label_embeddings.vectors
    terms = criterion(outputs, labels)
    total = criterion.total(terms)
    params = [p for p in learner.parameters() if p.requires_grad]
    grads = torch.autograd.grad(total, params)

    # The official forward with the same tensors, in its order (CustomCLIP.forward): the prompt
    # learner's forward (learned prompt, vision prompts), the text encoder, the image encoder, then
    # the original prompt (forward_test). Autograd sums ctx's three gradient contributions in an
    # order set by this one.
    token_classes = vectors.unsqueeze(1)  # (n_cls, 1, dim)
    learned, _ = official_prompts(pieces, learner.ctx, token_classes)
    deep_text = list(learner.compound_prompts_text)
    deep_vision = [layer(prompt) for layer, prompt in zip(learner.compound_prompt_projections, deep_text)]
    shared = learner.proj(learner.ctx)
    text_features = official_text_features(clip_model, learned, pieces["tokens"], deep_text)
    image_features = official_image_features(clip_model, images, shared, deep_vision)
    image_features, text_features = F.normalize(image_features, dim=-1), F.normalize(text_features, dim=-1)
    scale = clip_model.logit_scale.exp()
    logits = scale * image_features @ text_features.t()
    _, original = official_prompts(pieces, learner.ctx, token_classes)
    fix_features = F.normalize(official_text_features(clip_model, original, pieces["tokens"], deep_text), dim=-1)
    fix_logits = scale * image_features @ fix_features.t()
    expected = official_loss_terms(logits, fix_logits, text_features, fix_features, labels, token_classes,
                                   pieces["token_classes"])
    expected_total = expected["ce"] + 1 / 1 * expected["wc"] + expected["cos"] + 0.05 * expected["kd"]
    expected_grads = torch.autograd.grad(expected_total, params)

    torch.testing.assert_close(outputs["logits"], logits, atol=2e-4, rtol=1e-4)
    torch.testing.assert_close(outputs["original_logits"], fix_logits, atol=2e-4, rtol=1e-4)
    assert terms.keys() == expected.keys()
    for name in expected:
        torch.testing.assert_close(terms[name], expected[name], atol=1e-5, rtol=1e-4, msg=name)
    assert terms["wc"] > 0 and terms["cos"] > 0 and terms["kd"] > 0
    torch.testing.assert_close(total, expected_total, atol=1e-5, rtol=1e-4)
    names = [name for name, p in learner.named_parameters() if p.requires_grad]
    assert len(names) == len(params) == 4 + 3 * (DEPTH - 1)  # ctx, proj (2), labels; per deep layer: prompt, Linear (2)
    for name, got, want in zip(names, grads, expected_grads):
        assert want.abs().sum() > 0
        torch.testing.assert_close(got, want, atol=1e-5, rtol=1e-3, msg=name)
    if shortcuts == OFFICIAL:  # the official computation, bit for bit: every output and every gradient
        for got, want in [(outputs["logits"], logits), (outputs["original_logits"], fix_logits), (total, expected_total),
                          *((terms[name], expected[name]) for name in expected)]:
            torch.testing.assert_close(got, want, atol=0, rtol=0)
        for name, got, want in zip(names, grads, expected_grads):
            torch.testing.assert_close(got, want, atol=0, rtol=0, msg=name)
    with torch.no_grad():  # evaluation (cached text features when the shortcut is on)
        torch.testing.assert_close(model(images), logits.detach(), atol=2e-4, rtol=1e-4)


def test_random_init_anchors_to_the_random_start_in_the_official_layout():
    torch.manual_seed(0)
    labels = official_learner(tiny_clip(), label_init="random").label_embeddings
    torch.testing.assert_close(labels.vectors.detach(), labels.anchor)
    assert labels.positions.tolist() == [1 + N_CTX] * len(NAMES)
    assert labels.vectors.std().item() == pytest.approx(0.02, rel=0.5)


def test_saved_labels_bring_their_layout_and_the_shared_prefix_follows():
    clip_model = tiny_clip()
    torch.manual_seed(1)
    official = official_learner(clip_model)
    with torch.no_grad():
        official.label_embeddings.vectors.add_(0.1)
    default = MultiModalPromptLearner(clip_model.token_embedding, NAMES, prompt_depth=DEPTH, vision_width=64,
                                      text_layers=3, vision_layers=3, n_ctx=N_CTX, context_init=CTX_INIT,
                                      label_tokens="shortest")
    default.load_state_dict({k: v for k, v in official.state_dict().items() if "label_embeddings" not in k},
                            strict=False)
    assert default.shared_prefix_length == 1 + N_CTX + 2  # up to the class name
    state = {k[len("label_embeddings."):]: v for k, v in official.state_dict().items() if "label_embeddings" in k}
    default.label_embeddings.load_slots(adopt_labels(default.label_embeddings.state_dict(), state)[0])
    torch.testing.assert_close(default()[0], official()[0], rtol=0, atol=0)
    assert default.shared_prefix_length == official.shared_prefix_length == 1 + N_CTX
    model_a, model_b = PromptedCLIP(clip_model, default), PromptedCLIP(clip_model, official, shortcuts=OFFICIAL)
    with torch.no_grad():
        torch.testing.assert_close(model_a.text_features(), model_b.text_features(), atol=1e-5, rtol=1e-4)

"""MaPLe + LAMM in the official code's layout, and the "official" preset.

The reference is built by hand the way the official MaPLe + LAMM code builds it, token by token:
the plain prompt "a photo of a <name>." is tokenized and embedded; the first two context slots
hold MaPLe's context, the slot of "of" holds the label (the name tokenized alone, its first
token); the original prompt keeps "of". The text and image towers are MaPLe's, run over CLIP's
own blocks at full length, and each loss term is written out as the official code writes it.
"""
import clip
import pytest
import torch
import torch.nn.functional as F
from dassl.engine import build_trainer

import train
from lamm.errors import ConfigError
from lamm.hierarchical_loss import HierarchicalLoss
from lamm.maple_prompts import MultiModalPromptLearner
from lamm.model import OFFICIAL, PromptedCLIP, Shortcuts
from tests.fixtures import run_train, tiny_opts, train_args
from tests.helpers import CLASSNAMES, tiny_clip
from trainers.config import extend_cfg
from trainers.presets import apply_preset

NAMES = CLASSNAMES + ["sea lion"]  # one-, two- and many-token names (the car's year is 4 digits)
CTX_INIT, N_CTX, DEPTH = "a photo of a", 2, 3
MAPLE_LAMM = "configs/trainers/MaPLeLAMM/vit_b16_c2_ep5_batch4_2ctx_4shots.yaml"
MAPLE_TINY = ["TRAINER.MAPLE.PREC", "fp32", "TRAINER.MAPLE.PROMPT_DEPTH", "3"]


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
    terms = criterion(outputs["logits"], labels, outputs["text_features"], outputs["original_text_features"],
                      outputs["original_logits"], vectors, learner.label_embeddings.anchor)
    total = criterion.total(terms)
    params = [p for p in learner.parameters() if p.requires_grad]
    grads = torch.autograd.grad(total, params)

    # The official forward with the same tensors.
    token_classes = vectors.unsqueeze(1)  # (n_cls, 1, dim)
    learned, original = official_prompts(pieces, learner.ctx, token_classes)
    deep_text = list(learner.compound_prompts_text)
    shared = learner.proj(learner.ctx)
    deep_vision = [layer(prompt) for layer, prompt in zip(learner.compound_prompt_projections, deep_text)]
    image_features = F.normalize(official_image_features(clip_model, images, shared, deep_vision), dim=-1)
    text_features = F.normalize(official_text_features(clip_model, learned, pieces["tokens"], deep_text), dim=-1)
    fix_features = F.normalize(official_text_features(clip_model, original, pieces["tokens"], deep_text), dim=-1)
    scale = clip_model.logit_scale.exp()
    logits, fix_logits = scale * image_features @ text_features.t(), scale * image_features @ fix_features.t()
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
    for param, got, want in zip(params, grads, expected_grads):
        assert want.abs().sum() > 0
        torch.testing.assert_close(got, want, atol=1e-5, rtol=1e-3)
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
    default.label_embeddings.adopt(state)
    torch.testing.assert_close(default()[0], official()[0], rtol=0, atol=0)
    assert default.shared_prefix_length == official.shared_prefix_length == 1 + N_CTX
    model_a, model_b = PromptedCLIP(clip_model, default), PromptedCLIP(clip_model, official, shortcuts=OFFICIAL)
    with torch.no_grad():
        torch.testing.assert_close(model_a.text_features(), model_b.text_features(), atol=1e-5, rtol=1e-4)


# ---- the preset ------------------------------------------------------------------------------

def build_maple_lamm(caltech_root, clip_file, output, *extra):
    opts = tiny_opts(clip_file, *MAPLE_TINY, *extra)
    cfg = train.setup_cfg(train_args(caltech_root, output, trainer="MaPLeLAMM", config=MAPLE_LAMM, opts=opts))
    torch.manual_seed(0)
    return cfg, build_trainer(cfg)


def test_the_layout_is_a_config_choice_and_the_default_is_the_paper(caltech_root, tiny_clip_file, tmp_path):
    cfg, trainer = build_maple_lamm(caltech_root, tiny_clip_file, tmp_path / "a")
    n_ctx = cfg.TRAINER.MAPLE.N_CTX
    assert cfg.TRAINER.LAMM.MAPLE_LABEL_LAYOUT == "name" and cfg.TRAINER.LAMM.PRESET == "default"
    assert int(trainer.model.prompt_learner.label_embeddings.positions.min()) == 1 + n_ctx + 2
    assert trainer.criterion.lambda_wc == 0.25  # the 4-shot config's 1/shots
    cfg, trainer = build_maple_lamm(caltech_root, tiny_clip_file, tmp_path / "b",
                                    "TRAINER.LAMM.MAPLE_LABEL_LAYOUT", "official")
    assert trainer.model.prompt_learner.label_embeddings.positions.tolist() == [1 + n_ctx] * trainer.num_classes
    with pytest.raises(ConfigError, match="MAPLE_LABEL_LAYOUT"):
        build_maple_lamm(caltech_root, tiny_clip_file, tmp_path / "c", "TRAINER.LAMM.MAPLE_LABEL_LAYOUT", "of")


def test_the_official_preset_sets_the_official_choices(caltech_root, tiny_clip_file, tmp_path):
    cfg, trainer = build_maple_lamm(caltech_root, tiny_clip_file, tmp_path / "run", "TRAINER.LAMM.PRESET", "official")
    assert cfg.TRAINER.LAMM.PRESET == "official"  # recorded in config.yaml (and results.json)
    assert cfg.TRAINER.LAMM.LAMBDA_WC == 1.0 and trainer.criterion.lambda_wc == 1.0
    assert cfg.TRAINER.LAMM.MAPLE_LABEL_LAYOUT == "official"
    assert trainer.criterion.weights == {"ce": 1.0, "wc": 1.0, "cos": 1.0, "kd": 0.05}
    labels = trainer.model.prompt_learner.label_embeddings
    assert labels.positions.tolist() == [1 + cfg.TRAINER.MAPLE.N_CTX] * trainer.num_classes
    # A training step runs with it.
    trainer.set_model_mode("train")
    trainer.num_batches = len(trainer.train_loader_x)
    trainer.batch_idx = 0
    summary = trainer.forward_backward(next(iter(trainer.train_loader_x)))
    assert {"ce", "wc", "cos", "kd"} <= set(summary)


def preset_cfg(trainer_name, *opts, from_files=()):
    """A config as train.py builds it: ``from_files`` stands for config-file values, ``opts`` for
    the command line."""
    from dassl.config import get_cfg_default

    cfg = get_cfg_default()
    extend_cfg(cfg)
    cfg.TRAINER.NAME = trainer_name
    cfg.merge_from_list(list(from_files) + list(opts))
    apply_preset(cfg, list(opts))
    return cfg


def test_an_explicit_value_that_contradicts_the_preset_is_an_error():
    with pytest.raises(ConfigError, match=r"sets TRAINER.LAMM.LAMBDA_WC to 1.0, but the command line gives 0.25"):
        preset_cfg("MaPLeLAMM", "TRAINER.LAMM.PRESET", "official", "TRAINER.LAMM.LAMBDA_WC", "0.25")
    with pytest.raises(ConfigError, match="MAPLE_LABEL_LAYOUT"):
        preset_cfg("MaPLeLAMM", "TRAINER.LAMM.PRESET", "official", "TRAINER.LAMM.MAPLE_LABEL_LAYOUT", "name")
    with pytest.raises(ConfigError, match="CLASS_TOKEN_POSITION"):
        preset_cfg("LAMM", "TRAINER.LAMM.PRESET", "official", "TRAINER.COOP.CLASS_TOKEN_POSITION", "middle")
    with pytest.raises(ConfigError, match="PRESET"):
        preset_cfg("LAMM", "TRAINER.LAMM.PRESET", "paper")
    # Agreeing with the preset, or switching a loss term off (the ablations), keeps it official.
    cfg = preset_cfg("LAMM", "TRAINER.LAMM.PRESET", "official", "TRAINER.LAMM.LAMBDA_WC", "1.0",
                     "TRAINER.LAMM.LAMBDA_COS", "0.0")
    assert cfg.TRAINER.LAMM.LAMBDA_WC == 1.0 and cfg.TRAINER.LAMM.LAMBDA_COS == 0.0


def test_the_preset_touches_only_what_the_trainer_uses():
    lamm = preset_cfg("LAMM", "TRAINER.LAMM.PRESET", "official", "TRAINER.LAMM.LABEL_TOKENS", "shortest")
    assert lamm.TRAINER.LAMM.LAMBDA_WC == 1.0
    assert lamm.TRAINER.LAMM.MAPLE_LABEL_LAYOUT == "name"  # not a MaPLe trainer
    # CoOp ignores CSC when an init phrase is given: the preset shares the context.
    coop = preset_cfg("CoOp", "TRAINER.LAMM.PRESET", "official",
                      from_files=["TRAINER.COOP.CTX_INIT", "a photo of a", "TRAINER.COOP.CSC", "True"])
    assert coop.TRAINER.COOP.CSC is False and coop.TRAINER.LAMM.LAMBDA_WC == -1.0  # no labels: untouched
    with pytest.raises(ConfigError, match="CSC"):
        preset_cfg("CoOp", "TRAINER.LAMM.PRESET", "official", "TRAINER.COOP.CTX_INIT", "a photo of a",
                   "TRAINER.COOP.CSC", "True")
    assert preset_cfg("CoOp", "TRAINER.LAMM.PRESET", "official", "TRAINER.COOP.CSC", "True").TRAINER.COOP.CSC
    maple = preset_cfg("MaPLe", "TRAINER.LAMM.PRESET", "official")
    assert maple.TRAINER.LAMM.MAPLE_LABEL_LAYOUT == "name"  # MaPLe has no labels
    # The preset beats the config files (the shipped ones hold λ1 = 1/shots).
    files = ["TRAINER.LAMM.LAMBDA_WC", "0.25", "TRAINER.LAMM.COS_REDUCTION", "paper"]
    official = preset_cfg("CoOpLAMM", "TRAINER.LAMM.PRESET", "official", from_files=files)
    assert official.TRAINER.LAMM.LAMBDA_WC == 1.0 and official.TRAINER.LAMM.COS_REDUCTION == "official"
    default = preset_cfg("MaPLeLAMM", "TRAINER.LAMM.LAMBDA_WC", "0.25")
    assert default.TRAINER.LAMM.LAMBDA_WC == 0.25 and default.TRAINER.LAMM.MAPLE_LABEL_LAYOUT == "name"


def test_train_py_reports_a_preset_conflict_in_one_line(caltech_root, tiny_clip_file, tmp_path):
    output = tmp_path / "run"
    code, text = run_train(
        "--root", caltech_root, "--output-dir", str(output), "--trainer", "MaPLeLAMM",
        "--dataset-config-file", "configs/datasets/caltech101.yaml", "--config-file", MAPLE_LAMM,
        *tiny_opts(tiny_clip_file, *MAPLE_TINY, "TRAINER.LAMM.PRESET", "official", "TRAINER.LAMM.LAMBDA_WC", "0.25"),
        check=False)
    assert code == 2 and "Traceback" not in text
    assert "error: TRAINER.LAMM.PRESET official sets TRAINER.LAMM.LAMBDA_WC to 1.0" in text
    assert not output.exists()

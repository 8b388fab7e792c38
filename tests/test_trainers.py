"""Every trainer on the tiny CLIP: what each learns, MaPLe's deep prompts, and reductions to CLIP."""
import pytest
import torch
import torch.nn.functional as F
from dassl.engine import build_trainer

import train
from lamm.errors import ConfigError
from lamm.maple_prompts import MultiModalPromptLearner
from lamm.model import PromptedCLIP, Shortcuts
from lamm.vision_encoder import PromptedVisionTransformer
from tests.fixtures import LEARNING_TRAINERS, MAPLE_TINY, tiny_opts, train_args, trainer_config
from tests.helpers import CLASSNAMES, plain_clip_text_features, tiny_clip
from tools.tiny_clip import save_tiny_clip
from trainers.checkpoints import load_prompt_learner_checkpoint

LABELS = ["label_embeddings.vectors"]
MAPLE = ["ctx", "proj.weight", "proj.bias", "compound_prompts_text.0", "compound_prompts_text.1",
         "compound_prompt_projections.0.weight", "compound_prompt_projections.0.bias",
         "compound_prompt_projections.1.weight", "compound_prompt_projections.1.bias"]
LEARNED = {"LAMM": LABELS, "CoOp": ["ctx"], "CoOpLAMM": ["ctx"] + LABELS, "MaPLe": MAPLE, "MaPLeLAMM": MAPLE + LABELS}


def build(trainer, caltech_root, clip_file, output, *extra):
    opts = tiny_opts(clip_file, *(MAPLE_TINY if "MaPLe" in trainer else []), *extra)
    cfg = train.setup_cfg(train_args(caltech_root, output, trainer=trainer, config=trainer_config(trainer), opts=opts))
    torch.manual_seed(0)
    return build_trainer(cfg)


@pytest.mark.parametrize("trainer_name", list(LEARNING_TRAINERS))
def test_a_training_step_changes_exactly_what_the_trainer_learns(trainer_name, caltech_root, tiny_clip_file, tmp_path):
    trainer = build(trainer_name, caltech_root, tiny_clip_file, tmp_path / "run")
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


def test_maple_with_a_resnet_backbone_is_a_clear_error(caltech_root, tmp_path):
    resnet = save_tiny_clip(tmp_path / "tiny_rn.pt", vision="resnet")
    with pytest.raises(ConfigError, match="ResNet"):
        build("MaPLe", caltech_root, resnet, tmp_path / "run")


def test_coop_loads_a_checkpoint_written_by_the_coop_repository(caltech_root, tiny_clip_file, tmp_path):
    trainer = build("CoOp", caltech_root, tiny_clip_file, tmp_path / "run")
    ctx = torch.randn(4, 64).half()
    # CoOp's checkpoint: fp16 ctx, its prompt buffers, and pickled optimizer/scheduler objects.
    parameter = torch.nn.Parameter(ctx.float())
    optimizer = torch.optim.SGD([parameter], lr=0.002, momentum=0.9)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, 50.0)
    folder = tmp_path / "coop_run" / "prompt_learner"
    folder.mkdir(parents=True)
    torch.save({"state_dict": {"ctx": ctx, "token_prefix": torch.zeros(4, 1, 64), "token_suffix": torch.zeros(4, 72, 64)},
                "epoch": 50, "optimizer": optimizer.state_dict(), "scheduler": {"successor": scheduler, "last_epoch": 50},
                "val_result": None}, folder / "model.pth.tar-50")
    trainer.load_model(str(tmp_path / "coop_run"), epoch=50)
    torch.testing.assert_close(trainer.model.prompt_learner.ctx.detach(), ctx.float())
    assert trainer.loaded_epoch == 50


def test_loading_a_checkpoint_of_other_classes_is_a_clear_error(caltech_root, tiny_clip_file, tmp_path):
    trainer = build("LAMM", caltech_root, tiny_clip_file, tmp_path / "run")
    folder = tmp_path / "other" / "prompt_learner"
    folder.mkdir(parents=True)
    torch.save({"state_dict": {"label_embeddings.vectors": torch.zeros(7, 64)}, "epoch": 2}, folder / "model.pth.tar-2")
    with pytest.raises(ConfigError, match=r"label_embeddings.vectors has shape \(7, 64\) in the checkpoint"):
        load_prompt_learner_checkpoint(trainer.model.prompt_learner, str(folder), 2)
    with pytest.raises(FileNotFoundError, match=r"Model not found .*Available: model.pth.tar-2"):
        load_prompt_learner_checkpoint(trainer.model.prompt_learner, str(folder), 5)


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


def test_a_lamm_checkpoint_of_other_classes_is_refused_unless_asked(tmp_path):
    clip_model = tiny_clip()
    from lamm.prompt_learner import PromptLearner

    make = lambda names: PromptLearner(clip_model.token_embedding, names, context_init="a photo of a",
                                       learn_context=False, label_tokens="shortest")
    folder = tmp_path / "prompt_learner"
    folder.mkdir()
    torch.save({"state_dict": make(["cat", "dog"]).state_dict(), "epoch": 3}, folder / "model.pth.tar-3")
    other = make(["oak", "maple"])  # same indices 0 and 1, other classes
    with pytest.raises(ConfigError, match=r"label embeddings for 0 of this dataset's 2 classes.*UNSEEN_CLASSES init"):
        load_prompt_learner_checkpoint(other, str(folder), 3)
    before = other()[0].clone()
    assert load_prompt_learner_checkpoint(other, str(folder), 3, unseen_classes="init") == 3
    torch.testing.assert_close(other()[0], before)  # unseen classes keep their word embeddings

"""lamm/backbones/open_clip.py: open_clip's two layouts behind the backbone interface.

The same weights through ``clip`` and through open_clip compute the same logits, loss terms and
gradients (fp32, bit for bit); on the bidirectional layout (SigLIP-like) the shortcuts that stay
on change nothing and the two that are not exact are off; class names are tokenised by the
model's own tokenizer; building leaves the random state as loading an OpenAI CLIP does.
"""
import json

import pytest
import torch

from lamm.backbones import load_backbone
from lamm.backbones.open_clip import read_architecture
from lamm.errors import BackboneError
from lamm.errors import ConfigError
from lamm.hierarchical_loss import HierarchicalLoss
from lamm.model import OFFICIAL, PromptedCLIP, Shortcuts
from lamm.prompt_learner import PromptLearner
from tests.open_clip_models import open_clip_models  # noqa: F401 (fixture)

NAMES = ["Leopards", "airplanes", "sea lion", "car side", "golden retriever"]


def load(models, layout):
    config, weights = models[layout]
    return load_backbone(f"open_clip:{config}", weights).to_precision("fp32")


def step(backbone, shortcuts, checkpointing=False, **learner_options):
    """One forward and backward of LAMM with the hierarchical loss: (outputs, terms, gradients)."""
    for p in backbone.model.parameters():
        p.requires_grad_(False)
    torch.manual_seed(0)
    options = dict(context_init="a photo of a", label_tokens="shortest", learn_context=False)
    options.update(learner_options)
    learner = PromptLearner(backbone.token_embedding, NAMES, text_tokenizer=backbone.tokenizer,
                            truncate_after_eot=shortcuts.truncate_prompts and backbone.prompt_shortcuts_exact,
                            **options)
    with torch.no_grad():  # move the labels away from their start
        for p in learner.parameters():
            if p.requires_grad:
                p.add_(torch.randn_like(p) * 0.05)
    model = PromptedCLIP(backbone, learner, shortcuts=shortcuts, text_checkpointing=checkpointing)
    images, labels = torch.randn(4, 3, 32, 32), torch.tensor([0, 1, 3, 4])
    outputs = model.forward_features(images)
    loss = HierarchicalLoss(lambda_wc=0.25)
    terms = loss(outputs, labels)
    loss.total(terms).backward()
    grads = {name: p.grad.clone() for name, p in learner.named_parameters() if p.requires_grad}
    with torch.no_grad():
        eval_logits = model(images)
    return {k: v.detach() for k, v in outputs.items() if v is not None}, terms, grads, eval_logits, model


def assert_identical(first, second):
    for a, b in zip(first[:4], second[:4]):
        if isinstance(a, dict):
            assert a.keys() == b.keys()
            for key in a:
                assert torch.equal(a[key], b[key]), key
        else:
            assert torch.equal(a, b)


@pytest.mark.parametrize("shortcuts", [Shortcuts(), OFFICIAL], ids=["shortcuts", "official"])
@pytest.mark.parametrize("learner", [{}, {"n_ctx": 4, "learn_context": True, "class_token_position": "middle",
                                          "context_init": ""}], ids=["LAMM", "CoOpLAMM-middle"])
def test_same_weights_through_clip_and_open_clip_compute_the_same_numbers(shortcuts, learner, open_clip_models):
    _, weights = open_clip_models["openai"]
    through_clip = load_backbone(weights).to_precision("fp32")
    through_open_clip = load(open_clip_models, "openai")
    assert through_open_clip.family == "CLIP" and through_open_clip.causal and through_open_clip.pooling == "eot"
    assert_identical(step(through_clip, shortcuts, **learner), step(through_open_clip, shortcuts, **learner))


def test_the_same_weights_leave_the_same_random_state(open_clip_models):
    config, weights = open_clip_models["openai"]
    torch.manual_seed(3)
    load_backbone(weights)
    after_clip = torch.random.get_rng_state()
    torch.manual_seed(3)
    load_backbone(f"open_clip:{config}", weights)
    assert torch.equal(after_clip, torch.random.get_rng_state())
    torch.manual_seed(3)
    untouched = torch.random.get_rng_state()
    load(open_clip_models, "siglip")  # no OpenAI counterpart: the state is left as it was
    assert torch.equal(untouched, torch.random.get_rng_state())


def test_the_bidirectional_layout_is_described_as_siglip_is(open_clip_models):
    backbone = load(open_clip_models, "siglip")
    assert backbone.family == "CustomTextCLIP" and not backbone.causal and backbone.pooling == "last"
    assert not backbone.prompt_shortcuts_exact and not backbone.maple_compatible
    assert backbone.tokenizer.start_ids == [] and backbone.tokenizer.end_ids == [1] and backbone.tokenizer.pad_id == 0
    assert float(backbone.logit_bias.detach()) == -10.0
    # A padding token far after the end-of-text token changes the feature: dropping it is not exact.
    text = backbone.model.text
    ids = backbone.tokenizer.tokenize(["a photo of a sea lion"])
    assert ids[0, 10] == backbone.tokenizer.pad_id
    shift = torch.randn(text.positional_embedding.shape[1])
    with torch.no_grad():
        full = text(ids)
        text.positional_embedding.data[10] += shift
        moved = text(ids)
        text.positional_embedding.data[10] -= shift
    assert not torch.allclose(full, moved)


@pytest.mark.parametrize("checkpointing", [False, True])
def test_on_the_bidirectional_layout_the_shortcuts_left_on_change_nothing(checkpointing, open_clip_models):
    backbone = load(open_clip_models, "siglip")
    on = step(backbone, Shortcuts(), checkpointing=checkpointing, learn_context=True)
    model = on[4]
    assert not model.shortcuts.truncate_prompts and not model.shortcuts.share_prompt_prefix
    assert model.shortcuts.cache_constant_text and model.prompt_learner.prompt_length == backbone.context_length
    assert_identical(on, step(backbone, OFFICIAL, learn_context=True))
    torch.testing.assert_close(on[3], on[0]["logits"])  # the cached evaluation equals training's logits


def test_the_bidirectional_text_feature_is_the_models_own(open_clip_models):
    """The prompt forward, at the initial labels and the hand-made context, equals open_clip's
    encode_text of the tokens the layout wrote (its own tokenizer, pooling and projection)."""
    backbone = load(open_clip_models, "siglip")
    learner = PromptLearner(backbone.token_embedding, NAMES, context_init="a photo of a", label_tokens="shortest",
                            learn_context=False, text_tokenizer=backbone.tokenizer)
    model = PromptedCLIP(backbone, learner)
    with torch.no_grad():
        ours = model.text_features()
        own = torch.nn.functional.normalize(backbone.model.encode_text(backbone.extra["open_clip_tokenizer"](
            [f"a photo of a {name}." for name in NAMES])), dim=-1)
    torch.testing.assert_close(ours, own, atol=1e-5, rtol=1e-5)


def test_class_names_are_tokenised_by_the_models_tokenizer(open_clip_models):
    backbone = load(open_clip_models, "siglip")
    tokenizer = backbone.tokenizer
    learner = PromptLearner(backbone.token_embedding, NAMES, context_init="a photo of a", label_tokens="all",
                            learn_context=False, text_tokenizer=tokenizer)
    labels = learner.label_embeddings
    for row, name in enumerate(NAMES):
        slots = labels.class_index == row
        ids = torch.tensor(tokenizer.encode(name))
        assert torch.equal(labels.positions[slots], torch.arange(4, 4 + len(ids)))  # no start token: "a photo of a" is 0..3
        assert torch.equal(labels.anchor[slots], backbone.token_embedding.weight[ids].detach())


def test_a_weights_file_of_another_architecture_is_one_clear_error(open_clip_models):
    config, _ = open_clip_models["siglip"]
    _, other = open_clip_models["eva"]
    with pytest.raises(BackboneError, match="does not fit open_clip:.*give the weights of that architecture"):
        load_backbone(f"open_clip:{config}", other)


def test_missing_empty_and_corrupt_weights_are_errors(open_clip_models, tmp_path):
    config, _ = open_clip_models["siglip"]
    with pytest.raises(ConfigError, match="needs MODEL.BACKBONE.WEIGHTS"):
        load_backbone(f"open_clip:{config}", "")
    with pytest.raises(BackboneError, match="no such file"):
        load_backbone(f"open_clip:{config}", str(tmp_path / "missing.safetensors"))
    (tmp_path / "empty.pt").write_bytes(b"")
    with pytest.raises(BackboneError, match="empty"):
        load_backbone(f"open_clip:{config}", str(tmp_path / "empty.pt"))
    (tmp_path / "corrupt.safetensors").write_bytes(b"not a safetensors file at all")
    with pytest.raises(BackboneError, match="cannot be read"):
        load_backbone(f"open_clip:{config}", str(tmp_path / "corrupt.safetensors"))


def test_unknown_names_and_tags_say_what_exists(tmp_path):
    with pytest.raises(ConfigError, match="Did you mean .*ViT-B-16-SigLIP2"):
        read_architecture("ViT-B-16-SigLIP3")
    with pytest.raises(ConfigError, match=r"not a pretrained tag of open_clip:ViT-B-16-SigLIP2 \(its tags: webli\)"):
        load_backbone("open_clip:ViT-B-16-SigLIP2", "webly")
    (tmp_path / "broken.json").write_text(json.dumps({"embed_dim": 8}))
    with pytest.raises(ConfigError, match="not an open_clip model config"):
        read_architecture(str(tmp_path / "broken.json"))


def test_a_name_has_the_tokens_it_has_inside_the_whole_prompt_without_a_dummy_prefix():
    """Gemma's SentencePiece (SigLIP2) marks a word start only after a space: "sea" alone is not
    "▁sea" as in "a photo of a sea lion". A piece is encoded as it stands after a word."""
    from types import SimpleNamespace

    from tokenizers import Tokenizer, models, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast

    from lamm.backbones.open_clip import HFTokenizer

    vocab = {"<pad>": 0, "</s>": 1, "<unk>": 2}
    for word in ["a", "photo", "of", "sea", "lion"]:
        vocab.setdefault(word, len(vocab))
        vocab.setdefault("\u2581" + word, len(vocab))
    model = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    model.pre_tokenizer = pre_tokenizers.Metaspace(prepend_scheme="never")
    model.post_processor = processors.TemplateProcessing(single="$A </s>", special_tokens=[("</s>", 1)])
    hf = PreTrainedTokenizerFast(tokenizer_object=model, pad_token="<pad>", eos_token="</s>", unk_token="<unk>")
    tokenizer = HFTokenizer(SimpleNamespace(tokenizer=hf, clean_fn=str.strip, context_length=16))
    whole = hf("a photo of a sea lion")["input_ids"]
    assert hf("sea lion", add_special_tokens=False)["input_ids"] != whole[4:6]  # alone, "sea" has no word mark
    assert tokenizer.encode("sea lion") == whole[4:6] and tokenizer.end_ids == [1] and tokenizer.start_ids == []
    assert tokenizer.ids_of_pieces(["a photo of a", "sea lion"])[1:] == whole[1:]


def test_fp16_is_open_clips_own_conversion(open_clip_models):
    openai_layout = load(open_clip_models, "openai").to_precision("fp16")
    assert openai_layout.dtype == torch.float16 and openai_layout.model.visual.conv1.weight.dtype == torch.float16
    assert openai_layout.model.ln_final.weight.dtype == torch.float32  # norms stay fp32, as OpenAI's weights
    siglip = load(open_clip_models, "siglip").to_precision("fp16")  # a timm tower is cast whole, as open_clip does
    assert siglip.dtype == torch.float16 and all(p.dtype == torch.float16 for p in siglip.model.visual.parameters())

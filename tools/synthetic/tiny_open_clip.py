"""Tiny random open_clip models of each layout, and a tokenizer built here, for tests and demos.

Nothing is downloaded. Each model is an open_clip model-config JSON (open_clip's own format)
plus random weights saved to a file, loadable as
``MODEL.BACKBONE.NAME open_clip:<config.json> MODEL.BACKBONE.WEIGHTS <weights file>``:

- ``openai``: open_clip's ``CLIP`` in OpenAI's layout and widths of ``tools.synthetic.tiny_clip`` (causal
  text tower pooled at the end-of-text token, QuickGELU, open_clip's own ViT): the tiny CLIP's
  weights load into it unchanged.
- ``siglip``: a ``CustomTextCLIP`` like SigLIP: bidirectional text tower pooled at the last
  position, a projection with a bias, a logit bias, a timm vision tower with an attention-pool
  head, and a WordPiece tokenizer (T5's special ids: pad 0, end 1, unknown 2) built here and saved
  as a Hugging Face ``tokenizer.json`` folder, which the config names as ``hf_tokenizer_name``.
- ``eva``: a ``CustomTextCLIP`` like EVA02-CLIP: OpenAI's text tower and tokenizer under
  ``.text``, a timm vision tower.
- ``real:<open_clip name>``: the real shape of a released model (e.g. ``ViT-B-16-SigLIP2``), random,
  its Hugging Face tokenizer replaced by one built here (the Hub is not needed).

    python -m tools.synthetic.tiny_open_clip --out DIR --layout siglip   # prints the config and weights paths
"""
import argparse
import copy
import json
import os
import re

import torch

from tools.synthetic.tiny_clip import TINY_IMAGE_SIZE

SPECIAL_TOKENS = ["<pad>", "</s>", "<unk>"]  # ids 0, 1, 2 as in T5's SentencePiece (SigLIP)
BASE_WORDS = ("x a an the photo of type pet flower food aircraft texture satellite centered person doing "
              "picture image small large good bad one two three red green blue car").split()
TINY_CONTEXT_LENGTH = 32
LAYOUTS = ("openai", "siglip", "eva")


def _dataset_words():
    from tools.synthetic import data as synthetic_data

    words = set()
    for name, value in vars(synthetic_data).items():
        if name.isupper() and isinstance(value, (list, tuple, dict)):
            items = value.values() if isinstance(value, dict) else value
            for item in items:
                for text in (item if isinstance(item, (list, tuple)) else [item]):
                    if isinstance(text, str):
                        words.update(re.findall(r"[a-z]+", text.lower()))
    return sorted(words)


def build_tokenizer(folder, context_length: int = TINY_CONTEXT_LENGTH) -> str:
    """Write a WordPiece tokenizer (whole words of prompts and the synthetic datasets' class names,
    letters and digits for anything else) as a Hugging Face tokenizer folder; return the folder."""
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors

    characters = list("abcdefghijklmnopqrstuvwxyz0123456789")
    words = sorted(set(BASE_WORDS) | set(_dataset_words()) | set(characters))
    vocab = SPECIAL_TOKENS + words + [f"##{c}" for c in characters]
    tokenizer = Tokenizer(models.WordPiece({token: i for i, token in enumerate(vocab)}, unk_token="<unk>"))
    tokenizer.normalizer = normalizers.Lowercase()
    tokenizer.pre_tokenizer = pre_tokenizers.Whitespace()
    tokenizer.decoder = decoders.WordPiece()
    tokenizer.post_processor = processors.TemplateProcessing(single="$A </s>", special_tokens=[("</s>", 1)])
    os.makedirs(folder, exist_ok=True)
    tokenizer.save(os.path.join(folder, "tokenizer.json"))
    with open(os.path.join(folder, "tokenizer_config.json"), "w", encoding="utf-8") as f:
        json.dump({"tokenizer_class": "PreTrainedTokenizerFast", "pad_token": "<pad>", "eos_token": "</s>",
                   "unk_token": "<unk>", "model_max_length": context_length}, f, indent=1)
    with open(os.path.join(folder, "config.json"), "w", encoding="utf-8") as f:
        json.dump({}, f)  # transformers 5 reads a model config before the tokenizer's, also from the Hub cache
    return str(folder)


def tokenizer_vocabulary_size(folder) -> int:
    with open(os.path.join(folder, "tokenizer.json"), encoding="utf-8") as f:
        return len(json.load(f)["model"]["vocab"])


def openai_layout_config() -> dict:
    """open_clip's CLIP with tools.synthetic.tiny_clip's widths and depths (OpenAI's layout, QuickGELU)."""
    return {
        "embed_dim": 32,
        "quick_gelu": True,
        "vision_cfg": {"image_size": TINY_IMAGE_SIZE, "layers": 3, "width": 64, "patch_size": 16, "head_width": 64},
        "text_cfg": {"context_length": 77, "vocab_size": 49408, "width": 64, "heads": 1, "layers": 3},
    }


def siglip_like_config(tokenizer_folder) -> dict:
    return {
        "embed_dim": 64,
        "init_logit_bias": -10,
        "custom_text": True,
        "vision_cfg": {"image_size": TINY_IMAGE_SIZE, "timm_model_name": "test_vit", "timm_model_pretrained": False,
                       "timm_pool": "map", "timm_proj": "none"},
        "text_cfg": {"context_length": TINY_CONTEXT_LENGTH, "vocab_size": tokenizer_vocabulary_size(tokenizer_folder),
                     "hf_tokenizer_name": str(tokenizer_folder), "tokenizer_kwargs": {"clean": "canonicalize"},
                     "width": 64, "heads": 2, "layers": 2, "no_causal_mask": True, "proj_bias": True,
                     "pool_type": "last", "norm_kwargs": {"eps": 1e-6}},
    }


def eva_like_config() -> dict:
    return {
        "embed_dim": 32,
        "custom_text": True,
        "vision_cfg": {"image_size": TINY_IMAGE_SIZE, "timm_model_name": "test_vit", "timm_model_pretrained": False,
                       "timm_pool": "token", "timm_proj": "linear"},
        "text_cfg": {"context_length": 77, "vocab_size": 49408, "width": 64, "heads": 1, "layers": 2},
    }


def real_shape_config(name: str, tokenizer_folder=None) -> dict:
    """A released model's config; a Hugging Face tokenizer is replaced by one built here."""
    import open_clip

    config = open_clip.get_model_config(name)
    if config is None:
        raise ValueError(f"no open_clip model {name}")
    config = copy.deepcopy(config)
    text_cfg = config["text_cfg"]
    if text_cfg.get("hf_tokenizer_name"):
        if tokenizer_folder is None:
            raise ValueError(f"{name} has a Hugging Face tokenizer: give a folder to build one in")
        text_cfg["hf_tokenizer_name"] = str(tokenizer_folder)
        text_cfg["context_length"] = text_cfg.get("context_length", 64)
    return config


def build_model(config: dict, seed: int = 0):
    """A random open_clip model for ``config``; the global random state is left as it was."""
    from lamm.backbones.open_clip import build_open_clip

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return build_open_clip(config)


def random_backbone(name: str, tokenizer_folder, seed: int = 0):
    """A ``lamm.backbones.Backbone`` of open_clip model ``name``'s real shape with random weights,
    its Hugging Face tokenizer (if any) built in ``tokenizer_folder``: for benchmarks, no download."""
    from lamm.backbones.downloads import load_tokenizer
    from lamm.backbones.open_clip import describe_open_clip, preprocess_of

    config = real_shape_config(name, "-")
    folder = None
    if config["text_cfg"].get("hf_tokenizer_name"):
        folder = build_tokenizer(tokenizer_folder, config["text_cfg"].get("context_length", 64))
    config = real_shape_config(name, folder)
    model = build_model(config, seed)
    return describe_open_clip(model, load_tokenizer(name, config), preprocess_of(model), name=f"open_clip:{name}")


def save_weights(model, path) -> str:
    path = str(path)
    state = {k: v.detach().contiguous() for k, v in model.state_dict().items()}
    if path.endswith(".safetensors"):
        from safetensors.torch import save_file

        save_file(state, path)
    else:
        torch.save(state, path)
    return path


def save_config(config: dict, path) -> str:
    with open(path, "w", encoding="utf-8") as f:
        json.dump(config, f, indent=1)
    return str(path)


def write_model(folder, layout: str, seed: int = 0, weights_name: str = "weights.safetensors"):
    """Write ``layout``'s config JSON and random weights (and tokenizer) into ``folder``:
    returns (config path, weights path)."""
    os.makedirs(folder, exist_ok=True)
    tokenizer_folder = os.path.join(folder, "tokenizer")
    if layout == "openai":
        config = openai_layout_config()
    elif layout == "siglip":
        config = siglip_like_config(build_tokenizer(tokenizer_folder))
    elif layout == "eva":
        config = eva_like_config()
    elif layout.startswith("real:"):
        name = layout.split(":", 1)[1]
        text_cfg = real_shape_config(name, "-")["text_cfg"]
        folder_arg = None
        if text_cfg.get("hf_tokenizer_name"):
            folder_arg = build_tokenizer(tokenizer_folder, text_cfg.get("context_length", 64))
        config = real_shape_config(name, folder_arg)
    else:
        raise ValueError(f"unknown layout {layout!r}: one of {', '.join(LAYOUTS)} or real:<open_clip name>")
    config_path = save_config(config, os.path.join(folder, "config.json"))
    weights_path = save_weights(build_model(config, seed), os.path.join(folder, weights_name))
    return config_path, weights_path


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, help="folder to write the config, weights and tokenizer into")
    parser.add_argument("--layout", default="siglip", help=f"{', '.join(LAYOUTS)} or real:<open_clip name>")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    config_path, weights_path = write_model(args.out, args.layout, args.seed)
    print(f"MODEL.BACKBONE.NAME open_clip:{config_path} MODEL.BACKBONE.WEIGHTS {weights_path}")


if __name__ == "__main__":
    main()

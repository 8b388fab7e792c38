"""open_clip models (SigLIP, EVA02-CLIP, MetaCLIP, DFN, LAION, ...) as ``Backbone``s.

``MODEL.BACKBONE.NAME open_clip:<arch>`` names an open_clip architecture (``ViT-B-16``,
``ViT-B-16-SigLIP2``, ``EVA02-B-16``) or the path of a model-config JSON in open_clip's format
(a plain model config, or ``{"model_cfg": ..., "preprocess_cfg": ...}`` as on the Hub).
``MODEL.BACKBONE.WEIGHTS`` says where the weights come from (``lamm.backbones.downloads``).

Both of open_clip's layouts are read: ``CLIP`` keeps the text tower's parts on the model (causal,
pooled at the end-of-text token: OpenAI's layout), ``CustomTextCLIP`` keeps them under ``.text``
(SigLIP: bidirectional, pooled at the last position, its own SentencePiece tokenizer and a logit
bias; EVA: a timm vision tower). MaPLe needs open_clip's own ViT in OpenAI's layout.
"""
import json
import os
from typing import List, Optional, Sequence

import torch
from torch import nn

from ..errors import ConfigError
from .base import Backbone, Tokenizer

PREFIX = "open_clip:"
POOLING_OF = {"argmax": "eot", "eos": "eot", "last": "last", "first": "first"}


def _open_clip():
    import open_clip

    return open_clip


# ---------------------------------------------------------------- tokenizers


class OpenClipBPETokenizer(Tokenizer):
    """open_clip's ``SimpleTokenizer`` (OpenAI's BPE, possibly another cleaning): whole texts."""

    whole_text = True
    name = "openai-bpe"

    def __init__(self, tokenizer):
        self.inner = tokenizer
        self.context_length = tokenizer.context_length
        self.start_ids, self.end_ids, self.pad_id = [tokenizer.sot_token_id], [tokenizer.eot_token_id], 0

    def encode(self, text: str) -> List[int]:
        return self.inner.encode(text)

    def decode(self, ids: Sequence[int]) -> str:
        return self.inner.decode([int(i) for i in ids])

    def vocabulary_size(self) -> int:
        return self.inner.vocab_size

    def special_ids(self):
        return self.start_ids + self.end_ids

    def tokenize(self, texts: Sequence[str]) -> torch.Tensor:
        return self.pad([self.ids_of_pieces([text]) for text in texts])


class HFTokenizer(Tokenizer):
    """A Hugging Face tokenizer as open_clip wraps it (SigLIP's SentencePiece, SigLIP2's Gemma).

    Pieces are cleaned as open_clip cleans a text (SigLIP: lower case, no punctuation) and
    encoded one by one, so a class name has the tokens it has alone; the special tokens the
    tokenizer adds around a text are read off an example.
    """

    name = "hf"

    def __init__(self, tokenizer):
        if getattr(tokenizer, "tokenizer_mode", "") or getattr(tokenizer, "strip_sep_token", False):
            raise ConfigError("open_clip tokenizers with a tokenizer_mode or strip_sep_token are not supported.")
        self.inner = tokenizer
        self.hf = tokenizer.tokenizer
        self.clean = tokenizer.clean_fn
        self.context_length = tokenizer.context_length
        body = self.hf("a", add_special_tokens=False)["input_ids"]
        full = self.hf("a")["input_ids"]
        start = next(i for i in range(len(full) - len(body) + 1) if full[i:i + len(body)] == body)
        self.start_ids, self.end_ids = full[:start], full[start + len(body):]
        self.pad_id = self.hf.pad_token_id if self.hf.pad_token_id is not None else 0
        self.name = getattr(self.hf, "name_or_path", "hf")

    def encode(self, text: str) -> List[int]:
        """The tokens of ``text`` as they are inside a prompt, after a word: a SentencePiece
        tokenizer without a dummy prefix (Gemma's, SigLIP2) marks a word start only after a space."""
        text = self.clean(text)
        if not text:
            return []
        anchor = self.hf("a", add_special_tokens=False)["input_ids"]
        ids = self.hf(f"a {text}", add_special_tokens=False)["input_ids"]
        if ids[:len(anchor)] == anchor:
            return ids[len(anchor):]
        return self.hf(text, add_special_tokens=False)["input_ids"]

    def decode(self, ids: Sequence[int]) -> str:
        return self.hf.decode([int(i) for i in ids])

    def vocabulary_size(self) -> int:
        return len(self.hf)

    def special_ids(self):
        return sorted(set(self.hf.all_special_ids) | set(self.start_ids) | set(self.end_ids) | {self.pad_id})


def wrap_tokenizer(tokenizer) -> Tokenizer:
    if hasattr(tokenizer, "sot_token_id"):
        return OpenClipBPETokenizer(tokenizer)
    if hasattr(tokenizer, "tokenizer") and hasattr(tokenizer, "clean_fn"):
        return HFTokenizer(tokenizer)
    raise ConfigError(f"The open_clip tokenizer {type(tokenizer).__name__} is not supported.")


# ---------------------------------------------------------------- the model's parts


class OpenClipBackbone(Backbone):
    def encode_text(self, texts: Sequence[str]) -> torch.Tensor:
        """The model's own tokenizer and text forward, as open_clip's zero-shot classifier."""
        own = self.extra.get("open_clip_tokenizer")
        ids = own(list(texts)) if own is not None else self.tokenizer.tokenize(texts)
        return self.model.encode_text(ids.to(self.token_embedding.weight.device))

    def to_precision(self, precision: str) -> "OpenClipBackbone":
        if precision == "fp16":  # open_clip's own fp16: OpenAI's conversion, or timm towers cast whole
            timm_vision = type(self.model.visual).__name__ == "TimmModel"
            device = next(self.model.parameters()).device
            _open_clip().factory._set_model_device_and_precision(self.model, device, "fp16", timm_vision)
        else:
            self.model.float()
        return self


def _check_text_blocks(blocks, where: str) -> None:
    for block in blocks:
        attn = getattr(block, "attn", None)
        if not isinstance(attn, nn.MultiheadAttention) or hasattr(block, "ln_1_kv") or hasattr(block, "ln_attn"):
            raise ConfigError(f"{where}: its transformer blocks ({type(block).__name__}) are not open_clip's "
                              "standard ResidualAttentionBlock, which the prompt forward runs; this model is "
                              "not supported.")


def openai_layout_vit(visual: nn.Module) -> bool:
    """open_clip's own ViT with OpenAI's layout: class token, ln_pre, token pooling, no attention pool."""
    return (type(visual).__name__ == "VisionTransformer" and hasattr(visual, "conv1")
            and getattr(visual, "class_embedding", None) is not None
            and getattr(visual, "attn_pool", None) is None and getattr(visual, "pool_type", "tok") == "tok"
            and not isinstance(getattr(visual, "ln_pre", nn.Identity()), nn.Identity)
            and all(isinstance(getattr(b, "attn", None), nn.MultiheadAttention) for b in visual.transformer.resblocks))


def describe_open_clip(model: nn.Module, tokenizer=None, preprocess: Optional[dict] = None, name: str = "",
                       weights: str = "") -> Backbone:
    """The ``Backbone`` of an open_clip ``CLIP`` or ``CustomTextCLIP``."""
    from ..vision_encoder import PromptedVisionTransformer

    where = f"open_clip model {name or type(model).__name__}"
    if hasattr(model, "text"):  # CustomTextCLIP
        tower = model.text
        if not hasattr(tower, "transformer") or not hasattr(tower, "positional_embedding"):
            raise ConfigError(f"{where}: its text tower ({type(tower).__name__}, e.g. a Hugging Face text model) "
                              "is not open_clip's TextTransformer; it is not supported.")
        if getattr(tower, "cls_emb", None) is not None:
            raise ConfigError(f"{where}: a text tower with a class token (CoCa) is not supported.")
        if getattr(tower, "use_pad_mask", False):
            raise ConfigError(f"{where}: a text tower that masks padding is not supported.")
        pool_type, causal = tower.pool_type, tower.attn_mask is not None
    else:  # CLIP: the text tower's parts sit on the model
        tower, pool_type, causal = model, model.text_pool_type, model.attn_mask is not None
    if pool_type not in POOLING_OF:
        raise ConfigError(f"{where}: text pooling {pool_type!r} is not supported.")
    _check_text_blocks(tower.transformer.resblocks, where)
    if tokenizer is None:
        tokenizer = _open_clip().SimpleTokenizer(context_length=tower.positional_embedding.shape[0])
    wrapped = wrap_tokenizer(tokenizer)
    if pool_type == "argmax" and not wrapped.whole_text:
        raise ConfigError(f"{where}: argmax pooling reads the largest token id, which is the end-of-text "
                          "token only for OpenAI's BPE tokenizer.")
    visual = model.visual
    vit = visual if openai_layout_vit(visual) else None
    if preprocess is None:
        preprocess = preprocess_of(model)
    return OpenClipBackbone(
        model=model,
        text_tower=tower,
        token_embedding=tower.token_embedding,
        tokenizer=wrapped,
        # OpenAI's ViT layout runs through our forward (the same as MaPLe's without prompts), so
        # that the same weights give the same numbers as the clip package; others as they are.
        image_encoder=PromptedVisionTransformer(visual) if vit is not None else visual,
        vision_transformer=vit,
        logit_scale=model.logit_scale,
        logit_bias=getattr(model, "logit_bias", None),
        preprocess=preprocess,
        causal=causal,
        pooling=POOLING_OF[pool_type],
        name=name,
        weights=weights,
        family=type(model).__name__,
        extra={"open_clip_tokenizer": tokenizer},
    )


def model_preprocessing(spec: str, weights: str) -> dict:
    """The image preprocessing of ``open_clip:<arch>`` with ``weights``, from the configs alone
    (nothing is built or downloaded): open_clip's defaults (OpenAI's mean and std, bicubic,
    shortest-edge resize), the weights' tag, then a config JSON's own ``preprocess_cfg``."""
    from .downloads import weights_preprocess

    arch = spec[len(PREFIX):] if spec.startswith(PREFIX) else spec
    name, config, overrides = read_architecture(arch)
    merged = dict(weights_preprocess(name, weights) or {})
    merged.update(overrides or {})
    size = merged.get("size") or config["vision_cfg"].get("image_size", 224)
    size = (size, size) if isinstance(size, int) else tuple(int(v) for v in size)
    default = _open_clip().transform.PreprocessCfg()
    return {"size": size, "mean": tuple(merged.get("mean") or default.mean),
            "std": tuple(merged.get("std") or default.std),
            "interpolation": merged.get("interpolation") or default.interpolation,
            "resize_mode": merged.get("resize_mode") or default.resize_mode}


def preprocess_of(model: nn.Module, overrides: Optional[dict] = None) -> dict:
    """The model's preprocessing (open_clip's defaults: OpenAI's mean and std), with ``overrides``."""
    cfg = dict(getattr(model.visual, "preprocess_cfg", None) or {})
    cfg.update({k: v for k, v in (overrides or {}).items()
                if k in ("size", "mean", "std", "interpolation", "resize_mode") and v is not None})
    size = cfg.get("size") or getattr(model.visual, "image_size", 224)
    size = (size, size) if isinstance(size, int) else tuple(int(v) for v in size)
    default = _open_clip().transform.PreprocessCfg()
    return {"size": size, "mean": tuple(cfg.get("mean") or default.mean), "std": tuple(cfg.get("std") or default.std),
            "interpolation": cfg.get("interpolation") or default.interpolation,
            "resize_mode": cfg.get("resize_mode") or default.resize_mode}


# ---------------------------------------------------------------- building


def read_architecture(arch: str):
    """(model name, model config, preprocess config or None) for an open_clip name or config JSON."""
    oc = _open_clip()
    path = os.path.expanduser(arch)
    if arch.endswith(".json") or os.path.isfile(path):
        try:
            with open(path, encoding="utf-8") as f:
                config = json.load(f)
        except (OSError, ValueError) as e:
            raise ConfigError(f"MODEL.BACKBONE.NAME open_clip:{arch}: cannot read the model config "
                              f"({type(e).__name__}: {e}).") from None
        preprocess = config.get("preprocess_cfg") if "model_cfg" in config else None
        config = config.get("model_cfg", config)
        if not isinstance(config, dict) or "vision_cfg" not in config or "text_cfg" not in config:
            raise ConfigError(f"{path} is not an open_clip model config (no vision_cfg and text_cfg).")
        return path, config, preprocess
    config = oc.get_model_config(arch)
    if config is None:
        import difflib

        close = difflib.get_close_matches(arch, oc.list_models(), n=3, cutoff=0.7)
        hint = f" Did you mean {', '.join(close)}?" if close else ""
        raise ConfigError(f"MODEL.BACKBONE.NAME open_clip:{arch}: no open_clip model of that name.{hint} "
                          "open_clip.list_models() lists them; or give the path of a model-config JSON.")
    return arch, config, None


def build_open_clip(config: dict, quick_gelu: Optional[bool] = None) -> nn.Module:
    """A randomly initialised open_clip model for ``config``, built without touching the random state."""
    oc = _open_clip()
    config = json.loads(json.dumps(config))
    if "multimodal_cfg" in config:
        raise ConfigError("CoCa models (multimodal_cfg) are not supported: they caption, the prompt "
                          "learners here need a contrastive model.")
    if "hf_model_name" in config.get("text_cfg", {}):
        raise ConfigError("open_clip models with a Hugging Face text tower (text_cfg.hf_model_name) are not "
                          "supported: their text tower is not open_clip's TextTransformer.")
    if quick_gelu is not None:
        config["quick_gelu"] = quick_gelu
    config.get("vision_cfg", {}).pop("timm_model_pretrained", None)  # never fetch timm's own weights
    custom_text = config.pop("custom_text", False)
    model_class = oc.CustomTextCLIP if custom_text else oc.CLIP
    with torch.random.fork_rng(devices=[]):
        model = model_class(**config)
    return model.eval()


def advance_rng_as_openai_load(model: nn.Module) -> None:
    """Draw from the global random generator what loading this model through the ``clip`` package
    would draw, when the model has OpenAI's shape (a ViT and a causal text tower of OpenAI's
    widths), else nothing.

    Dassl seeds before the model is built, and what is drawn then decides the context
    initialisation and the data order that follow: the same weights through ``clip`` and through
    open_clip give the same run only if both draw the same. ``clip.model.build_model`` builds a
    randomly initialised ``CLIP`` before loading the weights; the same construction is repeated
    here and thrown away.
    """
    visual = model.visual
    if (type(model).__name__ != "CLIP" or not openai_layout_vit(visual) or model.attn_mask is None
            or not isinstance(model.text_projection, nn.Parameter)):
        return
    blocks = model.transformer.resblocks
    if any(b.mlp.c_fc.out_features != 4 * b.mlp.c_fc.in_features for b in [*blocks, *visual.transformer.resblocks]):
        return
    from clip.model import CLIP as OpenAICLIP

    width = model.token_embedding.embedding_dim
    OpenAICLIP(embed_dim=model.text_projection.shape[1],
               image_resolution=visual.conv1.kernel_size[0] * visual.grid_size[0],
               vision_layers=len(visual.transformer.resblocks), vision_width=visual.conv1.out_channels,
               vision_patch_size=visual.conv1.kernel_size[0], context_length=model.positional_embedding.shape[0],
               vocab_size=model.token_embedding.num_embeddings, transformer_width=width,
               transformer_heads=max(1, width // 64), transformer_layers=len(blocks))


def load_weights_file(model: nn.Module, path: str, what: str) -> None:
    """Load a state-dict file (.safetensors, .pt, .pth, .bin) into ``model``, strictly."""
    from ..errors import BackboneError

    oc = _open_clip()
    try:
        oc.factory.load_checkpoint(model, path, strict=True, weights_only=True)
    except RuntimeError as e:
        lines = [line.strip() for line in str(e).splitlines() if line.strip()]
        detail = "; ".join(lines[:3])
        raise BackboneError(f"the weights file {path} does not fit {what} ({detail[:300]}); "
                            "give the weights of that architecture") from None
    except Exception as e:  # truncated or foreign files fail in many ways
        raise BackboneError(f"the weights file {path} cannot be read ({type(e).__name__}: "
                            f"{str(e).splitlines()[0][:200] if str(e) else 'no detail'}); it is probably "
                            "truncated or corrupt: download or copy it again") from None


def load_open_clip(spec: str, weights: str) -> Backbone:
    """Build ``open_clip:<arch>`` with ``weights``; every failure is one ``LammError`` line."""
    from .downloads import load_tokenizer, resolve_weights

    arch = spec[len(PREFIX):] if spec.startswith(PREFIX) else spec
    name, config, preprocess_overrides = read_architecture(arch)
    what = f"open_clip:{arch}"
    source = resolve_weights(name, arch, weights)
    model = build_open_clip(config, quick_gelu=source.quick_gelu)
    advance_rng_as_openai_load(model)
    load_weights_file(model, source.path, what)
    tokenizer = load_tokenizer(name, config)
    preprocess = model_preprocessing(spec, weights)
    return describe_open_clip(model.eval(), tokenizer, preprocess, name=f"{PREFIX}{arch}", weights=weights)

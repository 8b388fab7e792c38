"""Where an open_clip model's weights and tokenizer come from, with the CLIP download's promises.

``MODEL.BACKBONE.WEIGHTS`` is one of:

- a local state-dict file (``.safetensors``, ``.pt``, ``.pth``, ``.bin``);
- ``hf-hub:org/repo`` (or ``hf-hub:org/repo/file``): a Hugging Face Hub repository in open_clip's format;
- an open_clip pretrained tag of the architecture (``webli``, ``laion2b_s34b_b88k``, ``openai``).

Weights are never silently random: an empty, missing or unreadable value is an error. Downloads
go through the Hugging Face Hub client (or, for the few tags that only have a URL, urllib) into
``OPEN_CLIP_CACHE_DIR`` (default ``~/.cache/lamm/open_clip``), tokenizers too, with the timeout
``LAMM_DOWNLOAD_TIMEOUT`` (seconds, 30 by default). ``LAMM_OFFLINE=1`` (or ``HF_HUB_OFFLINE=1``)
never touches the network: only files already in the cache are used. ``HF_ENDPOINT`` names a Hub
mirror. A failure is one line that names what to fetch and where to put it.
"""
import os
import socket
from dataclasses import dataclass
from typing import Optional

from ..errors import BackboneError, ConfigError

WEIGHT_SUFFIXES = (".safetensors", ".pt", ".pth", ".bin")
HF_PREFIX = "hf-hub:"
HF_WEIGHT_FILES = ("open_clip_model.safetensors", "open_clip_pytorch_model.bin")


def cache_dir() -> str:
    return os.path.expanduser(os.environ.get("OPEN_CLIP_CACHE_DIR", "~/.cache/lamm/open_clip"))


def offline() -> bool:
    return any(os.environ.get(key, "") not in ("", "0") for key in ("LAMM_OFFLINE", "HF_HUB_OFFLINE"))


def timeout_s() -> float:
    return float(os.environ.get("LAMM_DOWNLOAD_TIMEOUT", "30"))


@dataclass(frozen=True)
class WeightsSource:
    path: str  # the local file
    quick_gelu: Optional[bool] = None  # the activation the weights were trained with, when the tag says
    preprocess: Optional[dict] = None  # the tag's preprocessing (mean, std, interpolation, resize mode)


def _hub():
    import huggingface_hub
    from huggingface_hub import constants

    # The client reads its timeouts once; set them for this download.
    constants.HF_HUB_DOWNLOAD_TIMEOUT = constants.HF_HUB_ETAG_TIMEOUT = timeout_s()
    return huggingface_hub


def _unreachable(endpoint: str) -> Optional[str]:
    """Why the Hub cannot be reached within the timeout, or None. The Hub client retries a
    silent server with growing pauses for minutes; one probe with our timeout answers at once."""
    import urllib.error
    import urllib.request

    try:
        urllib.request.urlopen(urllib.request.Request(endpoint, method="HEAD"), timeout=timeout_s()).close()
    except urllib.error.HTTPError:
        return None  # it answered
    except (OSError, ValueError) as e:
        reason = getattr(e, "reason", None) or e
        if isinstance(reason, TimeoutError) or "timed out" in str(reason):
            return f"no answer within {timeout_s():g} s"
        return str(reason)[:200]
    return None


def _hub_file(repo: str, filename: str, what: str) -> str:
    hub = _hub()
    endpoint = os.environ.get("HF_ENDPOINT") or "https://huggingface.co"
    cached = _cached_hub_file(hub, repo, filename)
    if cached is not None:  # as the CLIP cache: a file downloaded once is used from then on
        return cached
    if not offline():
        reason = _unreachable(endpoint)
        if reason is not None:
            raise BackboneError(_fetch_hint(repo, filename, what, f"{endpoint}: {reason}"))
    try:
        return hub.hf_hub_download(repo_id=repo, filename=filename, cache_dir=cache_dir(),
                                   local_files_only=offline(), etag_timeout=timeout_s(),
                                   endpoint=os.environ.get("HF_ENDPOINT") or None)  # a mirror, read per call
    except Exception as e:  # connection, timeout, missing repo or file, offline cache miss
        reason = str(e).splitlines()[0][:200] if str(e) else type(e).__name__
        mode = "offline mode (LAMM_OFFLINE/HF_HUB_OFFLINE): not in the cache" if offline() else reason
        raise BackboneError(_fetch_hint(repo, filename, what, mode)) from None


def _cached_hub_file(hub, repo: str, filename: str) -> Optional[str]:
    try:
        return hub.hf_hub_download(repo_id=repo, filename=filename, cache_dir=cache_dir(), local_files_only=True)
    except Exception:
        return None


def _fetch_hint(repo: str, filename: str, what: str, reason: str) -> str:
    return (f"could not get {what}: {repo}/{filename} from the Hugging Face Hub ({reason}). Fetch it on a "
            f"connected machine (huggingface-cli download {repo} {filename} --cache-dir {cache_dir()}) and "
            f"copy the cache folder here (OPEN_CLIP_CACHE_DIR), or give the file itself: "
            f"MODEL.BACKBONE.WEIGHTS /path/to/{filename}")


def _hub_weights(repo: str, what: str) -> str:
    parts = repo.strip("/").split("/")
    if len(parts) > 2:  # org/repo/file
        return _hub_file("/".join(parts[:2]), "/".join(parts[2:]), what)
    error = None
    for filename in HF_WEIGHT_FILES:  # safetensors first, as open_clip
        try:
            return _hub_file("/".join(parts), filename, what)
        except BackboneError as e:
            error = error or e
    raise error


def _url_weights(url: str, what: str) -> str:
    from open_clip.pretrained import download_pretrained_from_url

    target = os.path.join(cache_dir(), os.path.basename(url))
    if offline():
        if os.path.isfile(target):
            return target
        raise BackboneError(f"could not get {what}: offline mode (LAMM_OFFLINE) and {target} is not in the "
                            f"cache; download {url} on a connected machine and put it there")
    previous = socket.getdefaulttimeout()
    socket.setdefaulttimeout(timeout_s())  # open_clip opens the URL without a timeout
    try:
        return download_pretrained_from_url(url, cache_dir=cache_dir())
    except Exception as e:
        raise BackboneError(f"could not download {what} from {url} ({str(e)[:200] or type(e).__name__}). "
                            f"Download it by other means and place it in {cache_dir()} (OPEN_CLIP_CACHE_DIR), or "
                            f"give the file: MODEL.BACKBONE.WEIGHTS /path/to/{os.path.basename(url)}") from None
    finally:
        socket.setdefaulttimeout(previous)


def _local_file(path: str) -> str:
    if not os.path.isfile(path):
        raise BackboneError(f"MODEL.BACKBONE.WEIGHTS {path}: no such file")
    if not path.endswith(WEIGHT_SUFFIXES):
        raise ConfigError(f"MODEL.BACKBONE.WEIGHTS {path}: a weights file ends in {', '.join(WEIGHT_SUFFIXES)}")
    if os.path.getsize(path) == 0:
        raise BackboneError(f"the weights file {path} (MODEL.BACKBONE.WEIGHTS) is empty (0 bytes): copy or "
                            "download it again")
    if not os.access(path, os.R_OK):
        raise BackboneError(f"the weights file {path} (MODEL.BACKBONE.WEIGHTS) is not readable")
    return path


def _shared_tag_preprocess(model_name: str) -> Optional[dict]:
    """The preprocessing every pretrained tag of the architecture agrees on (e.g. SigLIP's)."""
    import open_clip

    tags = open_clip.list_pretrained_tags_by_model(model_name)
    configs = [open_clip.get_pretrained_cfg(model_name, tag) for tag in tags]
    keys = ("mean", "std", "interpolation", "resize_mode")
    seen = {tuple(str(cfg.get(k)) for k in keys) for cfg in configs}
    if len(seen) != 1:
        return None
    return {k: configs[0].get(k) for k in keys if configs[0].get(k) is not None}


def weights_preprocess(model_name: str, weights: str) -> Optional[dict]:
    """The preprocessing the weights were trained with, as far as open_clip's tables say, without
    downloading anything: a tag's own, or for a file the one all of the architecture's tags share."""
    import open_clip

    if os.path.isfile(model_name) or not weights or weights.startswith(HF_PREFIX):
        return None
    pretrained = open_clip.get_pretrained_cfg(model_name, weights)
    if pretrained:
        return {k: pretrained[k] for k in ("mean", "std", "interpolation", "resize_mode") if k in pretrained}
    return _shared_tag_preprocess(model_name) if open_clip.list_pretrained_tags_by_model(model_name) else None


def resolve_weights(model_name: str, arch: str, weights: str) -> WeightsSource:
    """The local file for MODEL.BACKBONE.WEIGHTS, downloading it if it is a tag or a Hub repo."""
    import open_clip

    what = f"the open_clip:{arch} weights {weights}"
    tags = open_clip.list_pretrained_tags_by_model(model_name) if not os.path.isfile(model_name) else []
    if not weights:
        listed = f" (its tags: {', '.join(tags)})" if tags else ""
        raise ConfigError(f"MODEL.BACKBONE.NAME open_clip:{arch} needs MODEL.BACKBONE.WEIGHTS: a pretrained "
                          f"tag{listed}, hf-hub:org/repo, or a weights file (.safetensors, .pt, .bin); "
                          "weights are never left random.")
    path = os.path.expanduser(weights)
    if weights.startswith(HF_PREFIX):
        return WeightsSource(_hub_weights(weights[len(HF_PREFIX):], what))
    if os.path.isfile(path) or os.sep in weights or weights.endswith(WEIGHT_SUFFIXES):
        shared = _shared_tag_preprocess(model_name) if tags else None
        return WeightsSource(_local_file(path), preprocess=shared)
    pretrained = open_clip.get_pretrained_cfg(model_name, weights)
    if not pretrained:
        listed = ", ".join(tags) if tags else "none"
        raise ConfigError(f"MODEL.BACKBONE.WEIGHTS {weights!r} is not a pretrained tag of open_clip:{arch} "
                          f"(its tags: {listed}), nor hf-hub:org/repo, nor an existing weights file.")
    preprocess = {k: pretrained[k] for k in ("mean", "std", "interpolation", "resize_mode") if k in pretrained}
    if pretrained.get("hf_hub"):
        file = _hub_weights(pretrained["hf_hub"], what)
    elif pretrained.get("url"):
        file = _url_weights(pretrained["url"], what)
    else:
        raise ConfigError(f"open_clip has no download for the tag {weights} of {arch}; give a weights file.")
    return WeightsSource(file, quick_gelu=pretrained.get("quick_gelu", None), preprocess=preprocess)


def load_tokenizer(model_name: str, config: dict):
    """open_clip's tokenizer for the model: OpenAI's BPE, or a Hugging Face tokenizer from the Hub
    (through the cache, offline mode and timeout above) or from a local folder."""
    import open_clip

    text_cfg = config.get("text_cfg", {})
    context_length = text_cfg.get("context_length", 77)
    hf_name = text_cfg.get("hf_tokenizer_name", "")
    if not hf_name:
        if "siglip" in os.path.basename(model_name).lower():
            raise ConfigError(f"open_clip:{model_name} names no text_cfg.hf_tokenizer_name; give the Hugging Face "
                              "tokenizer (a Hub id or a local folder) there.")
        return open_clip.SimpleTokenizer(context_length=context_length, **text_cfg.get("tokenizer_kwargs", {}))
    local = os.path.isdir(os.path.expanduser(hf_name))
    kwargs = dict(text_cfg.get("tokenizer_kwargs", {}))
    build = lambda **extra: open_clip.tokenizer.HFTokenizer(  # noqa: E731
        os.path.expanduser(hf_name), context_length=context_length, tokenizer_mode=text_cfg.get("tokenizer_mode"),
        **kwargs, **extra)
    try:
        if local:
            return build()
        _hub()
        try:
            return build(cache_dir=cache_dir(), local_files_only=True)
        except (OSError, ValueError):
            if offline():
                raise
        endpoint = os.environ.get("HF_ENDPOINT") or "https://huggingface.co"
        reason = _unreachable(endpoint)
        if reason is not None:
            raise OSError(f"{endpoint}: {reason}")
        return build(cache_dir=cache_dir())
    except ImportError as e:
        raise ConfigError(f"the tokenizer of open_clip:{model_name} needs the transformers package "
                          f"({e}); pip install transformers sentencepiece") from None
    except Exception as e:
        reason = str(e).splitlines()[0][:200] if str(e) else type(e).__name__
        where = "the folder" if local else f"the Hugging Face Hub ({'offline mode' if offline() else reason})"
        raise BackboneError(
            f"could not load the tokenizer {hf_name} of open_clip:{model_name} from {where}. Fetch it on a "
            f"connected machine (huggingface-cli download {hf_name} --cache-dir {cache_dir()}) and copy the cache "
            "here (OPEN_CLIP_CACHE_DIR), or set text_cfg.hf_tokenizer_name in a model-config JSON to a local "
            "folder holding tokenizer.json") from None

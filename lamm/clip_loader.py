"""Load OpenAI CLIP by name (downloaded once and cached by the ``clip`` package) or from a file.

``MODEL.BACKBONE.NAME`` is either a released model name (``ViT-B/16``, ``ViT-B/32``, ``RN50``,
``RN101``, ...) or the path of a local checkpoint: a TorchScript archive as released by OpenAI,
or a plain state dict. The model is built with ``clip.model.build_model`` exactly as CoOp does,
so its weights are half precision until the caller casts them.
"""
import difflib
import os
import warnings

import torch

from .errors import ConfigError
from .files import FileLock

DEFAULT_DOWNLOAD_ROOT = os.path.expanduser(os.environ.get("CLIP_CACHE_DIR", "~/.cache/clip"))


def _clip():
    # Imported lazily: the clip package pulls in pkg_resources and ftfy at import time.
    import clip

    return clip


def resolve_checkpoint(name_or_path: str, download_root: str = DEFAULT_DOWNLOAD_ROOT) -> str:
    """Return the local file for a model name (downloading it if needed) or an existing path."""
    clip = _clip()
    if name_or_path in clip.available_models():
        # clip writes its download in place: runs starting together would write one file at once.
        with FileLock(os.path.join(download_root, ".download.lock")):
            return clip.clip._download(clip.clip._MODELS[name_or_path], download_root)
    if os.path.isfile(os.path.expanduser(name_or_path)):
        return os.path.expanduser(name_or_path)
    close = difflib.get_close_matches(name_or_path, clip.available_models(), n=3)
    hint = f" Did you mean {', '.join(close)}?" if close else ""
    raise ConfigError(
        f"MODEL.BACKBONE.NAME {name_or_path!r} is neither a CLIP model name nor an existing file."
        f"{hint} Known names: {', '.join(clip.available_models())}; or give the path of a "
        "CLIP checkpoint (TorchScript archive or state dict)."
    )


def _read_state_dict(path: str) -> dict:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)  # torch.jit is deprecated, but OpenAI ships archives
            return torch.jit.load(path, map_location="cpu").state_dict()
    except RuntimeError:
        pass  # not a TorchScript archive: a plain state dict
    state = torch.load(path, map_location="cpu", weights_only=True)
    if isinstance(state, dict) and "state_dict" in state:
        state = state["state_dict"]
    if not isinstance(state, dict) or "visual.conv1.weight" not in state and "visual.proj" not in state:
        raise ConfigError(f"{path} does not look like a CLIP checkpoint (no visual.* weights).")
    return state


def load_clip(name_or_path: str, download_root: str = DEFAULT_DOWNLOAD_ROOT) -> torch.nn.Module:
    """Build CLIP on the CPU in eval mode, with CLIP's own fp16 weight conversion."""
    path = resolve_checkpoint(name_or_path, download_root)
    state_dict = {k: v.clone() for k, v in _read_state_dict(path).items()}
    return _clip().model.build_model(state_dict).eval()


def check_input_size(clip_model: torch.nn.Module, input_size, backbone: str) -> None:
    """CoOp asserts INPUT.SIZE equals the image encoder's resolution; say how to fix it."""
    resolution = clip_model.visual.input_resolution
    if tuple(input_size) != (resolution, resolution):
        raise ConfigError(
            f"INPUT.SIZE {tuple(input_size)} does not match the input resolution of {backbone} "
            f"({resolution}); set INPUT.SIZE \"({resolution}, {resolution})\"."
        )

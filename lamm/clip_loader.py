"""Load OpenAI CLIP by name (downloaded once into a cache folder) or from a file.

``MODEL.BACKBONE.NAME`` is either a released model name (``ViT-B/16``, ``ViT-B/32``, ``RN50``,
``RN101``, ...) or the path of a local checkpoint: a TorchScript archive as released by OpenAI,
or a plain state dict. The model is built with ``clip.model.build_model`` exactly as CoOp does,
so its weights are half precision until the caller casts them.
"""
import difflib
import hashlib
import os
import re
import sys
import tempfile
import time
import urllib.error
import urllib.request
import warnings

# Before `import clip`, which imports setuptools' deprecated pkg_resources (lamm/__init__.py too).
warnings.filterwarnings("ignore", message="pkg_resources is deprecated", category=UserWarning)

import torch  # noqa: E402

from .errors import BackboneError, ConfigError  # noqa: E402
from .files import FileLock, make_readable  # noqa: E402

DEFAULT_DOWNLOAD_ROOT = os.path.expanduser(os.environ.get("CLIP_CACHE_DIR", "~/.cache/clip"))


def _seconds_or_none(value: str):
    """A number of seconds > 0 (finite), else None."""
    try:
        seconds = float(value)
    except ValueError:
        return None
    return seconds if 0 < seconds < float("inf") else None


# Seconds to wait for a connection and for each read: a proxy that accepts and never answers
# would otherwise hang the run forever (the clip package opens its URLs without a timeout).
# None when LAMM_DOWNLOAD_TIMEOUT is not a number of seconds: said when a download needs it, not at import.
DOWNLOAD_TIMEOUT_S = _seconds_or_none(os.environ.get("LAMM_DOWNLOAD_TIMEOUT") or "30")  # empty: unset
DOWNLOAD_RETRIES = 1
RETRY_WAIT_S = 1.0  # a pause before the retry, for a server that just reset the connection


def _clip():
    # Imported lazily: the clip package pulls in pkg_resources and ftfy at import time.
    import clip

    return clip


def _model_urls() -> dict:
    return _clip().clip._MODELS


def _sha256(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _fetch(url: str, target: str, expected_sha256: str, timeout: float) -> None:
    """One attempt: stream ``url`` into a temporary file beside ``target``, check, rename."""
    from tqdm import tqdm

    folder = os.path.dirname(target)
    handle, tmp_path = tempfile.mkstemp(dir=folder, prefix=f".{os.path.basename(target)}.", suffix=".part")
    try:
        with os.fdopen(handle, "wb") as out, urllib.request.urlopen(url, timeout=timeout) as source:
            size = int(source.headers.get("Content-Length") or 0) or None
            digest = hashlib.sha256()
            with tqdm(total=size, unit="B", unit_scale=True, unit_divisor=1024, ncols=80, file=sys.stderr,
                      mininterval=0.5, desc=os.path.basename(target)) as bar:
                for block in iter(lambda: source.read(1 << 16), b""):
                    out.write(block)
                    digest.update(block)
                    bar.update(len(block))
        if size is not None and os.path.getsize(tmp_path) != size:
            raise OSError(f"the transfer ended after {os.path.getsize(tmp_path)} of {size} bytes")
        if digest.hexdigest() != expected_sha256:
            raise OSError(f"the file's sha256 is {digest.hexdigest()[:12]}..., expected {expected_sha256[:12]}...")
        make_readable(tmp_path)  # a shared cache is read by other users
        os.replace(tmp_path, target)
    finally:
        if os.path.exists(tmp_path):
            os.remove(tmp_path)


def download_checkpoint(url: str, download_root: str = DEFAULT_DOWNLOAD_ROOT, timeout: float = None,
                        retries: int = DOWNLOAD_RETRIES, name: str = None) -> str:
    """Return the cached file of ``url`` (whose path holds its sha256, as the clip package's URLs
    do), downloading it first if it is missing or does not match."""
    timeout = DOWNLOAD_TIMEOUT_S if timeout is None else timeout
    filename = os.path.basename(url)
    expected = url.rstrip("/").split("/")[-2]
    target = os.path.join(download_root, filename)
    try:
        os.makedirs(download_root, exist_ok=True)
        # Runs starting together on a fresh cache download one after the other, not into one file.
        with FileLock(os.path.join(download_root, ".download.lock")):
            if os.path.isfile(target):
                if _sha256(target) == expected:
                    return target
                print(f"warning: {target} does not match its sha256 (an interrupted or corrupt download): "
                      "downloading it again", file=sys.stderr, flush=True)
            if timeout is None:  # only now: a cached file needs no timeout
                raise ConfigError(f"LAMM_DOWNLOAD_TIMEOUT={os.environ.get('LAMM_DOWNLOAD_TIMEOUT')!r} is not a number of "
                                  "seconds > 0: set it to how long to wait for the CLIP download's server (default 30), "
                                  "or unset it.")
            print(f"Downloading {name or filename} from {url} to {download_root}", file=sys.stderr, flush=True)
            for attempt in range(retries + 1):
                try:
                    _fetch(url, target, expected, timeout)
                    return target
                except (OSError, ValueError) as e:  # URLError, timeouts and resets are OSErrors
                    reason = getattr(e, "reason", None) or e
                    if isinstance(reason, TimeoutError) or "timed out" in str(reason):
                        reason = f"no answer within {timeout:g} s"
                    if attempt < retries:
                        print(f"warning: download failed ({reason}); retrying", file=sys.stderr, flush=True)
                        time.sleep(RETRY_WAIT_S)
    except OSError as e:  # the cache folder cannot be written
        reason = e
    raise BackboneError(
        f"could not download the CLIP weights {name or filename} from {url} ({reason}). Download the file "
        f"by other means and place it in {download_root} as {filename} (or set CLIP_CACHE_DIR to the folder "
        f"that holds it), or give the local file: MODEL.BACKBONE.NAME /path/to/{filename}"
    )


def ensure_backbone(name: str, download_root: str = DEFAULT_DOWNLOAD_ROOT) -> str:
    """Return the local file for a CLIP model name (downloading it if needed) or an existing path.

    Raises a ``LammError`` with one line that says what to do: an unknown name, a download that
    failed (naming the URL, the cache folder and the file to place there) or an empty file.
    """
    urls = _model_urls()
    if name in urls:
        return download_checkpoint(urls[name], download_root, name=name)
    path = os.path.expanduser(name)
    if os.path.isfile(path):
        if os.path.getsize(path) == 0:
            raise BackboneError(f"the backbone file {path} (MODEL.BACKBONE.NAME) is empty (0 bytes): "
                                "copy or download it again")
        return path
    close = difflib.get_close_matches(name, list(urls), n=3)
    hint = f" Did you mean {', '.join(close)}?" if close else ""
    raise ConfigError(
        f"MODEL.BACKBONE.NAME {name!r} is neither a CLIP model name nor an existing file."
        f"{hint} Known names: {', '.join(urls)}; or give the path of a "
        "CLIP checkpoint (TorchScript archive or state dict)."
    )



def _unreadable_message(path: str, error: Exception) -> str:
    """One line on why ``torch.load(weights_only=True)`` refused ``path``, without torch's advice
    to retry with weights_only=False (which would run whatever code the file holds)."""
    text = str(error)
    pickled = re.search(r"(?:Unsupported global: GLOBAL|unsupported GLOBAL) ([\w.]+)", text)
    if pickled:
        return (f"the backbone file {path} holds pickled Python objects ({pickled.group(1)}), "
                "not only tensors: it is not loaded, since unpickling them could run code. Save the weights as a "
                "plain state dict (torch.save(model.state_dict(), path)) or use OpenAI's released file")
    if "Weights only load failed" in text:  # an unpickler error on bytes that are no torch.save file
        detail = next((line.strip() for line in text.splitlines() if line.startswith("Unsupported")), "")
    else:
        detail = text.splitlines()[0].split(". ")[0] if text else ""  # torch's first sentence
    return (f"the backbone file {path} cannot be read as a CLIP checkpoint "
            f"({type(error).__name__}{': ' + detail if detail else ''}): it is neither a TorchScript archive nor "
            "a torch.save state dict, or it is truncated or corrupt: download or copy it again")


def _read_state_dict(path: str) -> dict:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)  # torch.jit is deprecated, but OpenAI ships archives
            return torch.jit.load(path, map_location="cpu").state_dict()
    except RuntimeError:
        pass  # not a TorchScript archive: a plain state dict
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # truncated or foreign files fail in many ways (EOFError, UnpicklingError, ...)
        raise BackboneError(_unreadable_message(path, e)) from None
    if isinstance(state, dict) and "state_dict" in state:
        state = state["state_dict"]
    if not isinstance(state, dict) or "visual.conv1.weight" not in state and "visual.proj" not in state:
        raise ConfigError(f"{path} does not look like a CLIP checkpoint (no visual.* weights).")
    return state


def load_clip(name_or_path: str, download_root: str = DEFAULT_DOWNLOAD_ROOT) -> torch.nn.Module:
    """Build CLIP on the CPU in eval mode, with CLIP's own fp16 weight conversion."""
    path = ensure_backbone(name_or_path, download_root)
    state_dict = {k: v.clone() for k, v in _read_state_dict(path).items()}
    return _clip().model.build_model(state_dict).eval()

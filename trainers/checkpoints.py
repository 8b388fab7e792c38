"""Checkpoints, one policy: saving, resuming, eval loading and ``MODEL.INIT_WEIGHTS``."""
import os
import os.path as osp
import pickle
import random
import shutil
from dataclasses import dataclass
from typing import Tuple

import numpy as np
import torch

from lamm.errors import CheckpointError, CheckpointNotFoundError, ConfigError
from lamm.files import atomic_write, atomic_write_text
from trainers.methods import checkpoint_folders, trainers_saving_to

# Where checkpoints are (their file names, the note, a run's model folders): the torch-free run_folder.
from .run_folder import (  # noqa: F401  (part of this module's interface)
    BEST_FILE, EPOCH_FILE, NOTE_FILE, checkpoint_file, epochs_present, is_checkpoint_folder, latest_checkpoint,
    model_folders_in)

# Buffers that CoOp, MaPLe and the official LAMM code save but that are recomputed here.
REBUILT_KEYS = ("token_prefix", "token_suffix", "token_suffix_test", "fix_token")
LABELS = "label_embeddings."


def check_model_dir(directory: str, model_name: str, epoch=None) -> str:
    """The checkpoint file ``--model-dir directory [--load-epoch epoch]`` means, or a clear error."""
    if not osp.isdir(directory):
        parent = osp.dirname(osp.normpath(directory))
        hint = f" {parent} holds: {', '.join(sorted(os.listdir(parent))[:10])}." if osp.isdir(parent) else ""
        raise CheckpointNotFoundError(
            f"--model-dir {directory} does not exist; give the --output-dir of the training run "
            f"(the folder with {model_name}/ in it).{hint}")
    if is_checkpoint_folder(directory):
        raise CheckpointNotFoundError(
            f"--model-dir {directory} is a checkpoint folder; give the run folder above it: "
            f"--model-dir {osp.dirname(osp.normpath(directory))}")
    folder = osp.join(directory, model_name)
    runs_below = sorted(name for name in os.listdir(directory) if osp.isdir(osp.join(directory, name, model_name)))
    if not osp.isdir(folder) and runs_below:
        raise CheckpointNotFoundError(
            f"--model-dir {directory} holds runs ({', '.join(runs_below[:5])}), not a checkpoint; give one run, "
            f"e.g. --model-dir {osp.join(directory, runs_below[0])}")
    path = checkpoint_file(folder, epoch)
    if not osp.isfile(path):
        raise CheckpointNotFoundError(f'Model not found at "{path}".{_missing_checkpoint_hint(folder, epoch)}')
    return path


def _missing_checkpoint_hint(folder: str, epoch=None) -> str:
    if osp.isdir(folder):
        epochs = epochs_present(folder)
        available = sorted(f for f in os.listdir(folder) if f.startswith("model"))
        if not available:
            return f" {folder} holds no checkpoint."
        listed = f" Available: {', '.join(available)}"
        return listed + (f"; epochs present: {', '.join(map(str, epochs))} (--load-epoch)." if epochs else ".")
    run = osp.dirname(folder)
    for other in sorted(name for name in checkpoint_folders() if osp.isdir(osp.join(run, name))):
        return (f" {run} holds a {other} checkpoint, written by {' or '.join(trainers_saving_to(other))}: "
                "use that trainer, or --model-dir of a run of this one.")
    return " Check --model-dir (the run's output folder)."


class _Inert:
    """Stands in for any pickled object that is not a tensor or a plain value; runs no code."""

    def __init__(self, *args, **kwargs):
        pass

    def __setstate__(self, state):
        pass


def _safe_load(path: str):
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as error:
        if not hasattr(torch.serialization, "get_unsafe_globals_in_checkpoint"):
            raise ConfigError(f"{path} holds pickled Python objects; reading it needs PyTorch >= 2.5.") from error
    foreign = torch.serialization.get_unsafe_globals_in_checkpoint(path)
    print(f"Skipping pickled objects in {path}: {', '.join(foreign)}")
    try:
        with torch.serialization.safe_globals([(_Inert, name) for name in foreign]):
            return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as error:
        raise ConfigError(
            f"{path} was not loaded: it holds pickled code ({', '.join(foreign)}) that only runs with "
            "weights_only=False. Load it only if you trust its source, and re-save its state_dict.") from error


def read_checkpoint(path: str) -> dict:
    """Read a checkpoint without running pickled code; an empty or corrupt file is named."""
    if not osp.isfile(path):
        raise CheckpointNotFoundError(f"Checkpoint not found: {path}")
    if osp.getsize(path) == 0:
        raise CheckpointError(
            f"{path} is empty (0 bytes): its save was cut off (full disk?). Delete it to resume from "
            "the checkpoint before it, or start again with --restart.")
    try:
        return _safe_load(path)
    except ConfigError:
        raise
    except (EOFError, RuntimeError, ValueError, pickle.UnpicklingError, OSError) as error:
        first_line = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise CheckpointError(
            f"{path} is not a readable checkpoint (truncated or not written by torch.save: {first_line[:120]}). "
            "Delete it to resume from the checkpoint before it, or start again with --restart.") from error


def family_of(checkpoint: dict):
    return (checkpoint.get("meta") or {}).get("family")


def load_checkpoint(path: str, purpose: str, family=None, learns_labels=None) -> dict:
    """THE way a checkpoint is read here, for ``purpose`` "resume", "eval" or "init"."""
    checkpoint = read_checkpoint(path)
    if not isinstance(checkpoint, dict):
        raise CheckpointError(f"{path} holds a {type(checkpoint).__name__}, not a checkpoint dict.")
    if "state_dict" not in checkpoint:  # a bare state dict
        checkpoint = {"state_dict": checkpoint}
    state = {key[len("module."):] if key.startswith("module.") else key: value
             for key, value in checkpoint["state_dict"].items()}
    checkpoint["state_dict"] = {key: value for key, value in state.items() if key.split(".")[-1] not in REBUILT_KEYS}
    if purpose != "init":
        _check_family(checkpoint, path, family, learns_labels)
    return checkpoint


def _check_family(checkpoint: dict, path: str, family, learns_labels) -> None:
    saved = family_of(checkpoint)
    use_init = "to start from it instead, train with MODEL.INIT_WEIGHTS <its run folder>"
    if saved is not None:
        if family is not None and saved != family:
            raise CheckpointError(
                f"{path} was written by the {saved} trainer, not {family}: evaluate it with --trainer {saved}; "
                f"{use_init}.")
        return
    if learns_labels is None:
        return
    has_labels = any(key.startswith(LABELS) for key in checkpoint["state_dict"])
    if has_labels != learns_labels:
        what = "has label embeddings (a LAMM trainer's)" if has_labels else "has no label embeddings (CoOp's or MaPLe's)"
        raise CheckpointError(f"{path} {what}, which {family} cannot use as its own; {use_init}.")


def adopt_labels(own: dict, saved: dict, *, freeze: bool = False) -> Tuple[dict, int]:
    """This model's label state with the slots of the classes that ``saved`` also has, matched by class id."""
    saved_ids = saved.get("class_ids")
    saved_ids = torch.arange(int(saved["class_index"].max()) + 1) if saved_ids is None else saved_ids
    saved_hashes = saved.get("class_name_hashes", torch.zeros_like(saved_ids))
    own_hashes = own["class_name_hashes"] if "class_name_hashes" in saved else torch.zeros_like(own["class_ids"])
    row_of_key = {key: row for row, key in enumerate(zip(saved_ids.tolist(), saved_hashes.tolist()))}
    target_of_row = {row_of_key[key]: target for target, key in enumerate(zip(own["class_ids"].tolist(),
                                                                              own_hashes.tolist()))
                     if key in row_of_key}
    dim = own["vectors"].shape[1]
    empty = torch.zeros(0, dtype=torch.long)
    slots = [  # (saved class, position, vector, anchor) of every saved slot, trained or frozen
        (saved["class_index"], saved["positions"], saved["vectors"], saved["anchor"]),
        (saved.get("frozen_class_index", empty), saved.get("frozen_positions", empty),
         saved.get("frozen_vectors", torch.zeros(0, dim)), saved.get("frozen_vectors", torch.zeros(0, dim))),
    ]
    adopted = {"class": [], "position": [], "vector": [], "anchor": []}
    for classes, positions, vectors, anchors in slots:
        for row in range(len(classes)):
            target = target_of_row.get(int(classes[row]))
            if target is not None:
                adopted["class"].append(target)
                adopted["position"].append(int(positions[row]))
                adopted["vector"].append(vectors[row].float())
                adopted["anchor"].append(anchors[row].float())
    keep = torch.tensor([int(c) not in set(target_of_row.values()) for c in own["class_index"].tolist()],
                        dtype=torch.bool)
    new = {key: torch.tensor(values, dtype=torch.long) if key in ("class", "position")
           else (torch.stack(values) if values else torch.zeros(0, dim))
           for key, values in adopted.items()}
    kept = {"vectors": own["vectors"].cpu()[keep], "anchor": own["anchor"].cpu()[keep],
            "class_index": own["class_index"].cpu()[keep], "positions": own["positions"].cpu()[keep]}
    state = dict(own)
    if freeze:
        state.update(kept)
        state["frozen_vectors"] = torch.cat([own["frozen_vectors"].cpu(), new["vector"]])
        state["frozen_class_index"] = torch.cat([own["frozen_class_index"].cpu(), new["class"]])
        state["frozen_positions"] = torch.cat([own["frozen_positions"].cpu(), new["position"]])
    else:
        state.update({"vectors": torch.cat([kept["vectors"], new["vector"]]),
                      "anchor": torch.cat([kept["anchor"], new["anchor"]]),
                      "class_index": torch.cat([kept["class_index"], new["class"]]),
                      "positions": torch.cat([kept["positions"], new["position"]])})
    return state, len(target_of_row)


@dataclass(frozen=True)
class LoadPolicy:
    """How ``load_prompt_state`` takes a saved state over."""

    purpose: str  # "eval" or "init"
    source: str  # the checkpoint file, for messages
    name: str = "prompt_learner"  # the module, for messages
    unseen_classes: str = "error"
    freeze_labels: bool = False


def _take_labels(labels, saved: dict, policy: LoadPolicy) -> None:
    state, adopted = adopt_labels(labels.state_dict(), saved, freeze=policy.freeze_labels)
    total = len(labels.class_ids)
    if policy.purpose == "eval" and adopted < total:
        if policy.unseen_classes != "init":
            raise ConfigError(
                f"{policy.source} has label embeddings for {adopted} of this dataset's {total} classes: it was "
                "trained on other classes (another dataset, or the other half of the classes). To evaluate "
                "the missing ones with their word embeddings (the zero-shot prompt), set "
                "TRAINER.LAMM.UNSEEN_CLASSES init.")
        print(f"{total - adopted} of {total} classes are not in {policy.source}: they keep their word embeddings")
    labels.load_slots(state)
    if policy.purpose == "init":
        print(f"Label embeddings of {adopted} classes taken from {policy.source}"
              + (" (frozen)" if policy.freeze_labels else ""))


def _refuse_a_meta_net_it_cannot_use(module: torch.nn.Module, state: dict, policy: LoadPolicy) -> None:
    """A CoCoOp checkpoint (the CoOp repository's holds no ``meta`` to tell) evaluated by a trainer
    without a Meta-Net would be scored on its context alone: not the model that was trained."""
    if policy.purpose == "eval" and not hasattr(module, "meta_net") and any(k.startswith("meta_net.") for k in state):
        raise CheckpointError(
            f"{policy.source} holds a Meta-Net (meta_net.*): it is a CoCoOp checkpoint, whose context is shifted "
            "per image; its context alone is not the model it trained. Evaluate it with --trainer CoCoOp "
            "(--config-file configs/trainers/CoCoOp/vit_b16_c4_ep10_batch1_ctxv1.yaml), or start another trainer "
            "from its context with MODEL.INIT_WEIGHTS."
        )


def load_prompt_state(module: torch.nn.Module, state: dict, policy: LoadPolicy) -> None:
    """Load a checkpoint's ``state`` into a prompt learner, its label embeddings by class id."""
    _refuse_a_meta_net_it_cannot_use(module, state, policy)
    labels = getattr(module, "label_embeddings", None)
    saved_labels = {key[len(LABELS):]: value for key, value in state.items() if key.startswith(LABELS)}
    adopts = labels is not None and "class_index" in saved_labels
    if adopts:
        _take_labels(labels, saved_labels, policy)
    if adopts or policy.purpose == "init":
        state = {key: value for key, value in state.items() if not key.startswith(LABELS)}
    own = module.state_dict()
    if policy.purpose == "init":
        state = {key: value for key, value in state.items() if key in own and own[key].shape == value.shape}
        module.load_state_dict(state, strict=False)
        print(f"Initialised {sorted(state)} from {policy.source}")
        return
    for key, value in state.items():
        if key in own and own[key].shape != value.shape:
            raise ConfigError(
                f"{policy.source}: {key} has shape {tuple(value.shape)} in the checkpoint but {tuple(own[key].shape)} "
                "here. The checkpoint was trained on other classes or another prompt shape "
                "(dataset, DATASET.SUBSAMPLE_CLASSES, N_CTX, LABEL_TOKENS or trainer differ).")
    unexpected = sorted(set(state) - set(own))
    # Adopted labels came from the checkpoint (its classes' slots), whatever their keys.
    missing = sorted(key for key in own if key not in state and not (adopts and key.startswith(LABELS)))
    if unexpected:
        print(f"Ignored keys not used by {policy.name}: {unexpected}")
    if missing:
        print(f"Keys not in the checkpoint (kept at their initial values): {missing}")
    module.load_state_dict(state, strict=False)


def load_prompt_learner_checkpoint(module: torch.nn.Module, folder: str, epoch=None, name: str = "prompt_learner",
                                   unseen_classes: str = "error", family=None, learns_labels=None) -> int:
    """Load a saved state into ``module`` for evaluation and return the checkpoint's epoch."""
    path = checkpoint_file(folder, epoch)
    if not osp.exists(path):
        raise CheckpointNotFoundError(f'Model not found at "{path}".{_missing_checkpoint_hint(folder, epoch)}')
    checkpoint = load_checkpoint(path, "eval", family=family, learns_labels=learns_labels)
    load_prompt_state(module, checkpoint["state_dict"], LoadPolicy("eval", path, name, unseen_classes=unseen_classes))
    saved_epoch = checkpoint.get("epoch", epoch)
    print(f'Loading weights to {name} from "{path}" (epoch = {saved_epoch})')
    return saved_epoch


def capture_rng_state() -> dict:
    """Python, NumPy and torch random states as tensors and plain values (weights_only-safe)."""
    numpy_state = np.random.get_state()
    return {
        "python": random.getstate(),
        "numpy": [numpy_state[0], numpy_state[1].tolist(), *numpy_state[2:]],
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
    }


def restore_rng_state(state: dict) -> None:
    version, internal, gauss = state["python"]
    random.setstate((version, tuple(internal), gauss))
    name, keys, *rest = state["numpy"]
    np.random.set_state((name, np.asarray(keys, dtype=np.uint32), *rest))
    torch.set_rng_state(state["torch"])
    if state["cuda"] and torch.cuda.is_available() and len(state["cuda"]) == torch.cuda.device_count():
        torch.cuda.set_rng_state_all(state["cuda"])


def _free_space(folder: str) -> str:
    try:
        return f"{shutil.disk_usage(folder).free / 1e9:.1f} GB free"
    except OSError:
        return "free space unknown"


def save_checkpoint_atomically(state: dict, folder: str, filename: str, keep_epochs=()) -> str:
    """Write ``folder/filename`` (and the ``checkpoint`` note) so a kill never leaves half a file."""
    path = osp.join(folder, filename)
    try:
        atomic_write(path, lambda tmp_path: torch.save(state, tmp_path))
    except (OSError, RuntimeError) as error:  # torch reports a full disk as RuntimeError ("unexpected pos")
        first_line = (str(error).strip().splitlines() or [type(error).__name__])[0]
        raise CheckpointError(
            f"Could not write the checkpoint {filename} in {folder} ({first_line[:120]}); {_free_space(folder)} "
            "there. Free some space (or move the run with --output-dir) and rerun the same command: it resumes "
            "from the previous checkpoint, which is intact.") from error
    atomic_write_text(osp.join(folder, NOTE_FILE), filename + "\n")
    for name in os.listdir(folder):
        match = EPOCH_FILE.match(name)
        if match and name != filename and int(match.group(1)) not in keep_epochs:
            os.remove(osp.join(folder, name))
    print(f"Checkpoint saved to {path}")
    return path


class CheckpointMixin:
    """Dassl's checkpoint hooks (``save_model``, ``resume_model_if_exist``, ``load_model``) and ``init_from``."""

    family = None  # the trainer family written to and checked in ``meta``; None: the class name

    def family_name(self) -> str:
        return self.family or type(self).__name__

    def checkpoint_meta(self) -> dict:
        class_ids = self.label_options().get("class_ids") if hasattr(self, "label_options") else None
        return {
            "trainer": self.cfg.TRAINER.NAME,
            "family": self.family_name(),
            "classnames": list(self.dm.dataset.classnames),
            "class_ids": None if class_ids is None else [int(i) for i in class_ids],
        }

    def save_model(self, epoch, directory, is_best=False, val_result=None, model_name=""):
        """Dassl's checkpoint, plus the random state and meta, written atomically; old epochs pruned."""
        for name in self.get_model_names():
            optim, sched = self._optims[name], self._scheds[name]
            state = {
                "state_dict": self._models[name].state_dict(),
                "epoch": epoch + 1,
                "optimizer": None if optim is None else optim.state_dict(),
                "scheduler": None if sched is None else sched.state_dict(),
                "val_result": val_result,
                "rng_state": capture_rng_state(),
                "train_time_s": self.train_time_so_far(),
                "meta": self.checkpoint_meta(),
            }
            filename = model_name or f"model.pth.tar-{epoch + 1}"
            save_checkpoint_atomically(state, osp.join(directory, name), filename, keep_epochs=(self.max_epoch,))
            if is_best and not model_name:
                save_checkpoint_atomically(state, osp.join(directory, name), BEST_FILE,
                                           keep_epochs=(epoch + 1, self.max_epoch))

    def resume_model_if_exist(self, directory):
        """Continue from the latest checkpoint (Dassl's lines), restoring the random state."""
        names = self.get_model_names()
        paths = {name: latest_checkpoint(osp.join(directory, name)) for name in names}
        if not all(paths.values()):
            if self.cfg.RESUME:
                raise CheckpointNotFoundError(
                    f"--resume {self.cfg.RESUME} holds no checkpoint (no {'/'.join(names)}/checkpoint file "
                    f"there); {_missing_checkpoint_hint(osp.join(directory, names[0])).strip()}")
            print("No checkpoint found, train from scratch")
            return 0
        print(f"Found checkpoint at {directory} (will resume training)")
        start_epoch = 0
        for name, path in paths.items():
            print(f'Loading checkpoint from "{path}"')
            checkpoint = load_checkpoint(path, "resume", family=self.family_name(), learns_labels=self.learn_labels)
            self._models[name].load_state_dict(checkpoint["state_dict"])
            if self._optims[name] is not None and checkpoint.get("optimizer"):
                self._optims[name].load_state_dict(checkpoint["optimizer"])
            if self._scheds[name] is not None and checkpoint.get("scheduler"):
                self._scheds[name].load_state_dict(checkpoint["scheduler"])
            start_epoch = checkpoint["epoch"]
            print(f"Previous epoch: {start_epoch}")
            if checkpoint.get("rng_state"):
                restore_rng_state(checkpoint["rng_state"])
            self._train_time_before = float(checkpoint.get("train_time_s") or 0.0)
        return start_epoch

    def load_model(self, directory, epoch=None):
        """Eval loading (``--model-dir``, ``--load-epoch``), also Dassl's best-val deployment."""
        if not directory:
            print("Note that load_model() is skipped as no pretrained model is given")
            return
        path = check_model_dir(directory, self.model_name, epoch)
        self.loaded_epoch = load_prompt_learner_checkpoint(
            self.model.prompt_learner, osp.join(directory, self.model_name), epoch, self.model_name,
            unseen_classes=self.cfg.TRAINER.LAMM.UNSEEN_CLASSES,
            family=self.family_name(), learns_labels=self.learn_labels,
        )
        self.loaded_checkpoint = {"run_dir": directory, "epoch": self.loaded_epoch, "file": path}

    def init_from(self, path: str):
        """MODEL.INIT_WEIGHTS: start from another run's prompts (a run folder or a checkpoint file)."""
        folder = osp.join(path, self.model_name) if osp.isdir(osp.join(path, self.model_name)) else path
        if osp.isdir(folder):
            checkpoint_path = latest_checkpoint(folder)
            if checkpoint_path is None:
                others = model_folders_in(path)
                hint = f" (it holds {', '.join(others)}/)" if others else ""
                raise CheckpointNotFoundError(f"MODEL.INIT_WEIGHTS {path}: no {self.model_name} checkpoint there{hint}.")
        elif osp.isfile(path):
            checkpoint_path = path
        else:
            raise CheckpointNotFoundError(f"MODEL.INIT_WEIGHTS {path} does not exist (a run folder or a checkpoint file).")
        state = load_checkpoint(checkpoint_path, "init")["state_dict"]
        load_prompt_state(self.model.prompt_learner, state,
                          LoadPolicy("init", checkpoint_path, self.model_name,
                                     freeze_labels=self.cfg.TRAINER.LAMM.FREEZE_LOADED_LABELS))

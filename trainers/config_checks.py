"""Turn yacs and registry failures into messages that name the problem and the fix."""
import difflib
import os
import os.path as osp

from dassl.data.datasets import DATASET_REGISTRY
from dassl.engine import TRAINER_REGISTRY

from lamm.errors import ConfigError


def all_keys(node, prefix=""):
    """Every leaf key of a CfgNode as dotted names."""
    keys = []
    for name, value in node.items():
        full = f"{prefix}{name}"
        keys.extend(all_keys(value, full + ".") if isinstance(value, dict) else [full])
    return keys


def check_config_file(path: str) -> None:
    if osp.isfile(path):
        return
    folder = osp.dirname(path) or "."
    choices = sorted(f for f in os.listdir(folder) if f.endswith((".yaml", ".yml"))) if osp.isdir(folder) else []
    hint = f" Files in {folder}: {', '.join(choices)}." if choices else ""
    raise ConfigError(f"Config file not found: {path}.{hint}")


def merge_checked(cfg, source) -> None:
    """``merge_from_file`` (a path) or ``merge_from_list`` (CLI opts) with clear errors."""
    where = source if isinstance(source, str) else "the command-line options"
    if not isinstance(source, str) and len(source) % 2:
        raise ConfigError(f"Config options come in KEY VALUE pairs; got an odd number: {' '.join(source)}")
    try:
        if isinstance(source, str):
            cfg.merge_from_file(source)
        else:
            cfg.merge_from_list(source)
    except (KeyError, AssertionError) as error:
        # yacs: KeyError("Non-existent config key: X") from files, an assertion from lists.
        message = str(error.args[0]) if error.args else str(error)
        if "Non-existent" not in message:
            raise
        key = message.rsplit(":", 1)[-1].strip()
        close = difflib.get_close_matches(key, all_keys(cfg), n=3, cutoff=0.6)
        hint = f" Did you mean {', '.join(close)}?" if close else ""
        raise ConfigError(f"Unknown config key {key} in {where}.{hint}") from error
    except ValueError as error:  # yacs type mismatch, e.g. an int where a float is expected
        raise ConfigError(f"Invalid value in {where}: {error}") from error


def _check_name(kind: str, name: str, registry, flag: str) -> None:
    names = registry.registered_names()
    if name in names:
        return
    close = difflib.get_close_matches(name, names, n=3)
    hint = f" Did you mean {', '.join(close)}?" if close else ""
    raise ConfigError(
        f"Unknown {kind} {name!r} ({flag}).{hint} Registered: {', '.join(sorted(names))}."
    )


def check_values(cfg) -> None:
    """Values that yacs accepts by type but that cannot work."""
    if cfg.DATASET.NUM_SHOTS == 0 or cfg.DATASET.NUM_SHOTS < -1:
        raise ConfigError(
            f"DATASET.NUM_SHOTS must be a number of images per class (1, 2, 4, 8, 16, ...) or -1 for "
            f"all images, got {cfg.DATASET.NUM_SHOTS}."
        )
    if cfg.OPTIM.MAX_EPOCH < 1:
        raise ConfigError(f"OPTIM.MAX_EPOCH must be >= 1, got {cfg.OPTIM.MAX_EPOCH}.")
    if cfg.DATALOADER.TRAIN_X.BATCH_SIZE < 1 or cfg.DATALOADER.TEST.BATCH_SIZE < 1:
        raise ConfigError("DATALOADER.TRAIN_X.BATCH_SIZE and DATALOADER.TEST.BATCH_SIZE must be >= 1.")


def check_registered(cfg) -> None:
    _check_name("trainer", cfg.TRAINER.NAME, TRAINER_REGISTRY, "--trainer")
    _check_name("dataset", cfg.DATASET.NAME, DATASET_REGISTRY, "DATASET.NAME in --dataset-config-file")

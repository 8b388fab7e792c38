"""Config merging with clear errors: yacs and registry failures become messages that name the
problem and the fix, and config files may include a shared base (``_BASE_``).

``_BASE_`` (absent from yacs, which Dassl uses as is): a path, or a list of paths, relative to
the including file; the base is merged first and the including file's keys override it, so
what the shot counts of a trainer share lives in one file.
"""
import ast
import difflib
import math
import os
import os.path as osp

import yaml
from dassl.data.datasets import DATASET_REGISTRY
from dassl.engine import TRAINER_REGISTRY
from yacs.config import CfgNode as CN

from lamm.errors import ConfigError
from lamm.memory import MODES as MEMORY_MODES
from lamm.precision import check_precision
from lamm.run_record import PROTOCOLS
from lamm.text_encoder import CHECKPOINTING_MODES

BASE_KEY = "_BASE_"


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


def _deep_merge(base: dict, override: dict) -> dict:
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def load_config_file(path: str, _including=()) -> dict:
    """The YAML file as a dict, with its ``_BASE_`` files merged underneath."""
    path = osp.abspath(path)
    if path in _including:
        raise ConfigError(f"{BASE_KEY} loop: {' -> '.join(_including + (path,))}")
    check_config_file(path)
    try:
        with open(path) as handle:
            loaded = yaml.safe_load(handle) or {}
    except yaml.YAMLError as error:
        raise ConfigError(f"{path} is not valid YAML: {str(error).splitlines()[0]}") from error
    if not isinstance(loaded, dict):
        raise ConfigError(f"{path} must hold KEY: VALUE entries, got {type(loaded).__name__}.")
    bases = loaded.pop(BASE_KEY, [])
    merged = {}
    for base in [bases] if isinstance(bases, str) else bases:
        base_path = base if osp.isabs(base) else osp.join(osp.dirname(path), base)
        if not osp.isfile(base_path):
            raise ConfigError(f"{path}: {BASE_KEY} {base} not found (looked for {osp.normpath(base_path)}).")
        merged = _deep_merge(merged, load_config_file(base_path, _including + (path,)))
    return _deep_merge(merged, loaded)


def _default(cfg, key: str):
    node = cfg
    for part in key.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _floats_where_floats_belong(cfg, values: dict, prefix="") -> dict:
    """``LAMBDA_WC: 1`` means 1.0: an int where the default is a float is taken as that float."""
    coerced = {}
    for key, value in values.items():
        if isinstance(value, dict):
            coerced[key] = _floats_where_floats_belong(cfg, value, f"{prefix}{key}.")
        elif _is_int(value) and isinstance(_default(cfg, prefix + key), float):
            coerced[key] = float(value)
        else:
            coerced[key] = value
    return coerced


def _coerce_opts(cfg, opts):
    coerced = list(opts)
    for i in range(0, len(coerced) - 1, 2):
        if isinstance(_default(cfg, coerced[i]), float):
            try:
                value = ast.literal_eval(coerced[i + 1])
            except (ValueError, SyntaxError):
                continue
            if _is_int(value):
                coerced[i + 1] = repr(float(value))
    return coerced


def merge_checked(cfg, source) -> None:
    """Merge a config file (a path, ``_BASE_`` resolved) or CLI opts (a list) with clear errors."""
    where = source if isinstance(source, str) else "the command-line options"
    if not isinstance(source, str) and len(source) % 2:
        raise ConfigError(f"Config options come in KEY VALUE pairs; got an odd number: {' '.join(source)}")
    try:
        if isinstance(source, str):
            cfg.merge_from_other_cfg(CN(_floats_where_floats_belong(cfg, load_config_file(source))))
        else:
            cfg.merge_from_list(_coerce_opts(cfg, source))
    except (KeyError, AssertionError) as error:
        # yacs: KeyError("Non-existent config key: X") from files, an assertion from lists.
        message = str(error.args[0]) if error.args else str(error)
        if "Non-existent" not in message:
            raise
        key = message.rsplit(":", 1)[-1].strip()
        close = difflib.get_close_matches(key, all_keys(cfg), n=3, cutoff=0.6)
        hint = f" Did you mean {', '.join(close)}?" if close else ""
        raise ConfigError(f"Unknown config key {key} in {where}.{hint}") from error
    except ValueError as error:  # yacs type mismatch, e.g. a float where an int is expected
        raise ConfigError(f"Invalid value in {where}: {error}") from error


def project_names(registry, package: str):
    """The names registered by this project's ``package`` (not Dassl's own trainers/datasets)."""
    return sorted(name for name in registry.registered_names()
                  if getattr(registry.get(name), "__module__", "").split(".")[0] == package)


def _check_name(kind: str, name: str, registry, flag: str, package: str) -> None:
    if name in registry.registered_names():
        return
    ours = project_names(registry, package)
    if not name:
        raise ConfigError(
            f"No {kind} given ({flag}; one of {', '.join(ours)}). Usage: python train.py --root DATA --trainer NAME "
            "--dataset-config-file configs/datasets/<name>.yaml --config-file configs/trainers/<trainer>/<file>.yaml "
            "--output-dir OUT [KEY VALUE ...]; python train.py --help lists every flag."
        )
    close = difflib.get_close_matches(name, ours, n=3)
    hint = f" Did you mean {', '.join(close)}?" if close else ""
    raise ConfigError(f"Unknown {kind} {name!r} ({flag}).{hint} Registered: {', '.join(ours)}.")


def check_registered(cfg) -> None:
    _check_name("trainer", cfg.TRAINER.NAME, TRAINER_REGISTRY, "--trainer", "trainers")
    _check_name("dataset", cfg.DATASET.NAME, DATASET_REGISTRY,
                "--dataset-config-file configs/datasets/<name>.yaml (DATASET.NAME)", "datasets")


def _at_least(cfg, key: str, low, inclusive=True, hint=""):
    value = _default(cfg, key)
    if isinstance(value, float) and not math.isfinite(value):
        raise ConfigError(f"{key} must be a finite number, got {value}.")
    if value < low or (value == low and not inclusive):
        raise ConfigError(f"{key} must be {'>=' if inclusive else '>'} {low}, got {value}.{hint}")


def check_values(cfg) -> None:
    """Values that yacs accepts by type but that cannot work, refused before anything runs."""
    if cfg.DATASET.NUM_SHOTS == 0 or cfg.DATASET.NUM_SHOTS < -1:
        raise ConfigError(
            f"DATASET.NUM_SHOTS must be a number of images per class (1, 2, 4, 8, 16, ...) or -1 for "
            f"all images, got {cfg.DATASET.NUM_SHOTS}."
        )
    if cfg.OPTIM.MAX_EPOCH < 1:
        raise ConfigError(f"OPTIM.MAX_EPOCH must be >= 1, got {cfg.OPTIM.MAX_EPOCH}.")
    if cfg.DATALOADER.TRAIN_X.BATCH_SIZE < 1 or cfg.DATALOADER.TEST.BATCH_SIZE < 1:
        raise ConfigError("DATALOADER.TRAIN_X.BATCH_SIZE and DATALOADER.TEST.BATCH_SIZE must be >= 1.")
    _at_least(cfg, "OPTIM.LR", 0, inclusive=False, hint=" (CoOp: 0.002, MaPLe: 0.0035)")
    for key in ("OPTIM.WEIGHT_DECAY", "OPTIM.MOMENTUM", "OPTIM.WARMUP_CONS_LR",
                "DATALOADER.NUM_WORKERS", "TRAIN.CHECKPOINT_FREQ",
                "TRAINER.LAMM.LAMBDA_COS", "TRAINER.LAMM.LAMBDA_KD"):
        _at_least(cfg, key, 0)
    for key in ("TRAIN.PRINT_FREQ", "TRAINER.MAPLE.N_CTX", "TRAINER.MAPLE.PROMPT_DEPTH"):
        _at_least(cfg, key, 1)
    for node in ("COOP", "COCOOP"):
        if not cfg.TRAINER[node].CTX_INIT:
            _at_least(cfg, f"TRAINER.{node}.N_CTX", 1)
    if cfg.OPTIM.MOMENTUM >= 1:
        raise ConfigError(f"OPTIM.MOMENTUM must be < 1, got {cfg.OPTIM.MOMENTUM}.")
    _at_least(cfg, "TRAINER.LAMM.KD_TEMPERATURE", 0, inclusive=False)
    if not math.isfinite(cfg.TRAINER.LAMM.LAMBDA_WC):
        raise ConfigError(f"TRAINER.LAMM.LAMBDA_WC must be a finite number, got {cfg.TRAINER.LAMM.LAMBDA_WC}.")
    for key in ("TRAINER.COOP.PREC", "TRAINER.COCOOP.PREC", "TRAINER.MAPLE.PREC"):
        try:
            check_precision(_default(cfg, key))
        except ConfigError as error:
            raise ConfigError(f"{key}: {error}") from None
    for key, modes in (("TRAINER.MEMORY.TEXT_CHECKPOINTING", CHECKPOINTING_MODES),
                       ("TRAINER.MEMORY.RETURN_FREED_MEMORY", MEMORY_MODES)):
        if _default(cfg, key) not in modes:
            raise ConfigError(f"{key} must be one of {', '.join(modes)}, got {_default(cfg, key)!r}.")
    if cfg.RUN.PROTOCOL and cfg.RUN.PROTOCOL not in PROTOCOLS:
        raise ConfigError(f"RUN.PROTOCOL must be empty (derived) or one of {', '.join(PROTOCOLS)}, "
                          f"got {cfg.RUN.PROTOCOL!r}.")
    if cfg.RUN.STAGE < 0:
        raise ConfigError(f"RUN.STAGE must be 0 (none) or a stage number, got {cfg.RUN.STAGE}.")

"""Config keys this project adds to Dassl's defaults, each beside the rule that checks it, and
the merging of config files and command-line options with clear errors.

Each trainer family owns one node, added by its ``add_*_config`` function; the rules for a node's
keys (``*_RULES``: dotted key -> checks, each ``check(cfg, key, value)`` raising ``ConfigError``)
follow that function, and ``NODES`` lists the pairs (a new family adds one row); the rules for
Dassl's own keys come first. ``extend_cfg`` is what train.py calls before merging any YAML file,
so that every key exists (yacs rejects unknown keys) and has a documented default;
``check_values`` is the one place the values are checked, before anything runs.

Config files may include a shared base (``_BASE_``, absent from yacs, which Dassl uses as is): a
path, or a list of paths, relative to the including file; the base is merged first and the
including file's keys override it, so what the shot counts of a trainer share lives in one file.
"""
import ast
import difflib
import math
import os
import os.path as osp

import yaml
from yacs.config import CfgNode as CN

from lamm.choices import CHECKPOINTING_MODES, LABEL_LAYOUTS
from lamm.errors import ConfigError
from lamm.precision import check_precision
from trainers.record import PROTOCOLS, lambda_wc_in_force

from .memory import MODES as MEMORY_MODES

BASE_KEY = "_BASE_"


# ---------------------------------------------------------------- rules


def _value(cfg, key: str):
    node = cfg
    for part in key.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def check_choice(value, choices, key):
    if value not in choices:
        raise ConfigError(f"{key} must be one of {', '.join(map(str, choices))}, got {value!r}.")


def one_of(*choices):
    return lambda cfg, key, value: check_choice(value, choices, key)


def at_least(low, inclusive=True, hint=""):
    """``value >= low`` (``> low`` unless ``inclusive``), and finite."""
    def check(cfg, key, value):
        if isinstance(value, float) and not math.isfinite(value):
            raise ConfigError(f"{key} must be a finite number, got {value}.")
        if value < low or (value == low and not inclusive):
            raise ConfigError(f"{key} must be {'>=' if inclusive else '>'} {low}, got {value}.{hint}")
    return check


def below(high):
    def check(cfg, key, value):
        if value >= high:
            raise ConfigError(f"{key} must be < {high}, got {value}.")
    return check


def finite(cfg, key, value):
    if not math.isfinite(value):
        raise ConfigError(f"{key} must be a finite number, got {value}.")


def precision(cfg, key, value):
    """fp16, fp32 or amp (``lamm.precision``): the one check of a trainer's PREC."""
    try:
        check_precision(value)
    except ConfigError as error:
        raise ConfigError(f"{key}: {error}") from None


def _shots(cfg, key, value):
    if value == 0 or value < -1:
        raise ConfigError(
            f"DATASET.NUM_SHOTS must be a number of images per class (1, 2, 4, 8, 16, ...) or -1 for "
            f"all images, got {value}."
        )


def _batch_size(cfg, key, value):
    if value < 1:
        raise ConfigError("DATALOADER.TRAIN_X.BATCH_SIZE and DATALOADER.TEST.BATCH_SIZE must be >= 1.")


# Dassl's own keys that yacs accepts by type but that cannot work.
DASSL_RULES = {
    "DATASET.NUM_SHOTS": (_shots,),
    "OPTIM.MAX_EPOCH": (at_least(1),),
    "DATALOADER.TRAIN_X.BATCH_SIZE": (_batch_size,),
    "DATALOADER.TEST.BATCH_SIZE": (_batch_size,),
    "OPTIM.LR": (at_least(0, inclusive=False, hint=" (CoOp: 0.002, MaPLe: 0.0035)"),),
    "OPTIM.WEIGHT_DECAY": (at_least(0),),
    "OPTIM.MOMENTUM": (at_least(0), below(1)),
    "OPTIM.WARMUP_CONS_LR": (at_least(0),),
    "DATALOADER.NUM_WORKERS": (at_least(0),),
    "TRAIN.CHECKPOINT_FREQ": (at_least(0),),
    "TRAIN.PRINT_FREQ": (at_least(1),),
}


# ---------------------------------------------------------------- the project's keys

def add_coop_config(cfg):
    """CoOp's keys, with CoOp's defaults, so CoOp configs and commands work unchanged."""
    cfg.TRAINER.COOP = CN()
    cfg.TRAINER.COOP.N_CTX = 16  # M, the number of context vectors [V]_1..M (Eq. 4)
    cfg.TRAINER.COOP.CSC = False  # class-specific context
    cfg.TRAINER.COOP.CTX_INIT = ""  # initial context words, e.g. "a photo of a" (sets N_CTX)
    cfg.TRAINER.COOP.PREC = "fp16"  # fp16, fp32 or amp
    cfg.TRAINER.COOP.CLASS_TOKEN_POSITION = "end"  # end, middle or front


def _n_ctx(cfg, key, value):
    """N_CTX of a CoOp-style node (COOP, COCOOP): at least 1 unless that node's CTX_INIT sets the length."""
    if not cfg.TRAINER[key.split(".")[1]].CTX_INIT:
        at_least(1)(cfg, key, value)


COOP_RULES = {
    "TRAINER.COOP.N_CTX": (_n_ctx,),
    "TRAINER.COOP.PREC": (precision,),
}


def check_coop_context_length(cfg, keys_set) -> None:
    """CoOp's rule, CoCoOp's too: CTX_INIT sets the context length and N_CTX goes unused, so an N_CTX
    set (in ``keys_set``, a config file's or the command line's keys) to another length is refused:
    the run would record a length it does not have. (MaPLe's N_CTX has its own rule.)"""
    for node in ("COOP", "COCOOP"):
        options = cfg.TRAINER[node]
        if f"TRAINER.{node}.N_CTX" not in keys_set or not options.CTX_INIT:
            continue
        from lamm.prompt_layout import count_tokens

        length = count_tokens(options.CTX_INIT.replace("_", " ").strip())  # as the prompt learner counts it
        if options.N_CTX != length:
            raise ConfigError(
                f"TRAINER.{node}.N_CTX {options.N_CTX} contradicts TRAINER.{node}.CTX_INIT {options.CTX_INIT!r}, "
                f"which sets the context length to its {length} tokens (CoOp's rule). For {options.N_CTX} randomly "
                f'initialised context vectors, clear it: TRAINER.{node}.CTX_INIT ""; to start from those words, '
                f"leave N_CTX out or set it to {length}."
            )


def add_cocoop_config(cfg):
    """CoCoOp's keys, with the CoOp repository's names and defaults (its configs set N_CTX 4 and
    CTX_INIT "a photo of a"); the Meta-Net's size follows CLIP's widths and has no key there either."""
    cfg.TRAINER.COCOOP = CN()
    cfg.TRAINER.COCOOP.N_CTX = 16  # M, context vectors v_1..v_M, each shifted by the Meta-Net's π(x)
    cfg.TRAINER.COCOOP.CTX_INIT = ""  # initial context words, e.g. "a photo of a" (sets N_CTX)
    cfg.TRAINER.COCOOP.PREC = "fp16"  # fp16, fp32 or amp


COCOOP_RULES = {
    "TRAINER.COCOOP.N_CTX": (_n_ctx,),
    "TRAINER.COCOOP.PREC": (precision,),
}


def add_maple_config(cfg):
    """MaPLe's keys, with MaPLe's defaults."""
    cfg.TRAINER.MAPLE = CN()
    cfg.TRAINER.MAPLE.N_CTX = 2  # context vectors learned from the start of CTX_INIT
    cfg.TRAINER.MAPLE.CTX_INIT = "a photo of a"  # the words after the first N_CTX stay fixed
    cfg.TRAINER.MAPLE.PREC = "fp16"  # fp16, fp32 or amp
    cfg.TRAINER.MAPLE.PROMPT_DEPTH = 9  # J: layers 0..J-1 of both encoders get prompts


MAPLE_RULES = {
    "TRAINER.MAPLE.N_CTX": (at_least(1),),
    "TRAINER.MAPLE.PREC": (precision,),
    "TRAINER.MAPLE.PROMPT_DEPTH": (at_least(1),),
}


def add_lamm_config(cfg):
    """LAMM's keys: the label embeddings <M_i> and the hierarchical loss (paper Eq. 9)."""
    cfg.TRAINER.LAMM = CN()
    # Which class-name tokens become learnable: "shortest" (official LAMM and CoOp + LAMM code:
    # the first min(name lengths) tokens of every name), "all" (every token) or "one" (one vector
    # per class). The official MaPLe + LAMM code learns one token per class: MAPLE_LABEL_LAYOUT.
    cfg.TRAINER.LAMM.LABEL_TOKENS = "shortest"
    # Where MaPLe + LAMM's labels go: "name" (the label replaces the class name: the paper's
    # method) or "official" (exactly the official code's prompt "[SOS] v1 v2 <M_i> a <full class
    # name> .": one label per class in the slot of "of", LABEL_TOKENS not used).
    cfg.TRAINER.LAMM.MAPLE_LABEL_LAYOUT = "name"
    # "default", or "official": every choice set to what produced the paper's numbers
    # (trainers/presets.py; a command-line value that contradicts it is an error).
    cfg.TRAINER.LAMM.PRESET = "default"
    cfg.TRAINER.LAMM.LABEL_INIT = "word"  # "word" embeddings of the name, or "random" (Table 5)
    cfg.TRAINER.LAMM.HIERARCHICAL_LOSS = True  # False: cross-entropy only ("w/o HL", Table 3)
    # λ1, weight of L_WC (parameter space). Negative: 1 / DATASET.NUM_SHOTS, as the paper says,
    # so a config follows the shot count it is run at; a value >= 0 is used as set (1.0
    # reproduces the official scripts, which never passed the shot count).
    cfg.TRAINER.LAMM.LAMBDA_WC = -1.0
    cfg.TRAINER.LAMM.LAMBDA_COS = 1.0  # λ2, weight of L_COS (feature space)
    cfg.TRAINER.LAMM.LAMBDA_KD = 0.05  # λ3, weight of L_KD (logits space)
    cfg.TRAINER.LAMM.KD_TEMPERATURE = 2.0  # T of L_KD (official code)
    cfg.TRAINER.LAMM.COS_REDUCTION = "official"  # "official" (per-sample mean) or "paper" (sum over classes)
    cfg.TRAINER.LAMM.KD_DIRECTION = "official"  # "official" or "teacher" (original prompt teaches)
    # Context of the original prompt y_i that L_COS and L_KD compare with: "current" (official
    # code: the context being learned) or "initial" (paper: the hand-made prompt).
    cfg.TRAINER.LAMM.ORIGINAL_CONTEXT = "current"
    # Class-incremental learning: label embeddings loaded through MODEL.INIT_WEIGHTS (the classes
    # learned before) stay frozen while the new classes' embeddings train.
    cfg.TRAINER.LAMM.FREEZE_LOADED_LABELS = False
    # Evaluating a checkpoint on classes it holds no label embeddings for: "error", or "init" to
    # keep their initial (word) embeddings, i.e. the zero-shot prompt (e.g. a Set-1 model on Set 2).
    cfg.TRAINER.LAMM.UNSEEN_CLASSES = "error"


LAMM_RULES = {
    "TRAINER.LAMM.MAPLE_LABEL_LAYOUT": (one_of(*LABEL_LAYOUTS),),
    "TRAINER.LAMM.LAMBDA_WC": (finite,),
    "TRAINER.LAMM.LAMBDA_COS": (at_least(0),),
    "TRAINER.LAMM.LAMBDA_KD": (at_least(0),),
    "TRAINER.LAMM.KD_TEMPERATURE": (at_least(0, inclusive=False),),
    "TRAINER.LAMM.ORIGINAL_CONTEXT": (one_of("current", "initial"),),
    "TRAINER.LAMM.UNSEEN_CLASSES": (one_of("error", "init"),),
}


def add_shortcut_config(cfg):
    """Exact speed-ups (issue: training fast); False everywhere computes what the official code does."""
    cfg.TRAINER.SHORTCUTS = CN()
    cfg.TRAINER.SHORTCUTS.TRUNCATE_PROMPTS = True  # skip tokens after the longest prompt's end-of-text token
    cfg.TRAINER.SHORTCUTS.SHARE_PROMPT_PREFIX = True  # compute the tokens all prompts share once
    cfg.TRAINER.SHORTCUTS.CACHE_CONSTANT_TEXT = True  # constant text features (y_i of LAMM, eval) once
    cfg.TRAINER.SHORTCUTS.CACHE_TEST_IMAGE_FEATURES = True  # prompt-free test image features once


def add_memory_config(cfg):
    """Exact memory savings (issue 14): the same results, less memory, a little more time."""
    cfg.TRAINER.MEMORY = CN()
    # Activation checkpointing of the text tower during training: "on", "off", or "auto" = on
    # above lamm.text_encoder.CHECKPOINTING_MIN_CLASSES classes (200; why: see there).
    cfg.TRAINER.MEMORY.TEXT_CHECKPOINTING = "auto"
    # Freed CPU memory back to the OS (glibc's mmap threshold fixed): "on", "off", or "auto" = when
    # the text tower checkpoints on the CPU (why: trainers/memory.py).
    cfg.TRAINER.MEMORY.RETURN_FREED_MEMORY = "auto"


MEMORY_RULES = {
    "TRAINER.MEMORY.TEXT_CHECKPOINTING": (one_of(*CHECKPOINTING_MODES),),
    "TRAINER.MEMORY.RETURN_FREED_MEMORY": (one_of(*MEMORY_MODES),),
}


def add_backbone_config(cfg):
    """MODEL.BACKBONE.WEIGHTS (lamm/backbones/downloads.py): an open_clip model's weights, a
    pretrained tag (``webli``), ``hf-hub:org/repo`` or a state-dict file. Empty for OpenAI's CLIP,
    whose MODEL.BACKBONE.NAME is the weights; Dassl's MODEL.BACKBONE.PRETRAINED keeps its meaning."""
    cfg.MODEL.BACKBONE.WEIGHTS = ""


def backbone_weights(cfg) -> str:
    """MODEL.BACKBONE.WEIGHTS, checked against MODEL.BACKBONE.NAME: open_clip needs it, OpenAI's CLIP takes none."""
    name, weights = cfg.MODEL.BACKBONE.NAME, cfg.MODEL.BACKBONE.get("WEIGHTS", "")
    if not isinstance(weights, str):
        raise ConfigError(f"MODEL.BACKBONE.WEIGHTS must be a string (a tag, hf-hub:org/repo or a file), got {weights!r}.")
    if name.startswith("open_clip:") and not weights.strip():
        raise ConfigError(f"MODEL.BACKBONE.NAME {name} needs MODEL.BACKBONE.WEIGHTS: a pretrained tag, "
                          "hf-hub:org/repo or a weights file (.safetensors, .pt, .bin); weights are never left random.")
    return weights.strip()


def add_dataset_config(cfg):
    cfg.DATASET.SUBSAMPLE_CLASSES = "all"  # the label space: all, base or new classes (CoOp)
    # Whose images train: all, base or new. Class-incremental stage 2 trains on the new classes'
    # images with all classes in the label space (SUBSAMPLE_CLASSES all, TRAIN_CLASSES new).
    cfg.DATASET.TRAIN_CLASSES = "all"


def _subsample_classes(cfg, key, value):
    if value not in ("all", "base", "new"):
        raise ConfigError(f"DATASET.SUBSAMPLE_CLASSES must be all, base or new, got {value!r}.")


DATASET_RULES = {"DATASET.SUBSAMPLE_CLASSES": (_subsample_classes,)}


def add_run_config(cfg):
    """What the run is, for its record (``results.json``): labels only, never read by the
    computation, and left out of the config fingerprint (``trainers/record.py``)."""
    cfg.RUN = CN()
    # fewshot, base2new, cross_dataset, dg or incremental; "" derives it: SUBSAMPLE_CLASSES
    # base/new -> base2new, TRAIN_CLASSES other than all -> incremental, else fewshot.
    cfg.RUN.PROTOCOL = ""
    cfg.RUN.VARIANT = ""  # what sets the run apart from the default (the scripts: TAG or the overrides)
    cfg.RUN.STAGE = 0  # class-incremental stage (1, 2); 0: none
    cfg.RUN.EVAL_SET = ""  # the evaluated set: "base", "new", "set1", "set2", a target dataset key
    cfg.RUN.SOURCE_DATASET = ""  # cross-dataset / DG evaluations: the dataset key the model was trained on


def _protocol(cfg, key, value):
    if value and value not in PROTOCOLS:
        raise ConfigError(f"RUN.PROTOCOL must be empty (derived) or one of {', '.join(PROTOCOLS)}, got {value!r}.")


def _stage(cfg, key, value):
    if value < 0:
        raise ConfigError(f"RUN.STAGE must be 0 (none) or a stage number, got {value}.")


RUN_RULES = {"RUN.PROTOCOL": (_protocol,), "RUN.STAGE": (_stage,)}


# Each node: the function that adds its keys, and their rules. A new trainer family adds one row.
NODES = (
    (add_coop_config, COOP_RULES),
    (add_cocoop_config, COCOOP_RULES),
    (add_maple_config, MAPLE_RULES),
    (add_lamm_config, LAMM_RULES),
    (add_shortcut_config, {}),
    (add_memory_config, MEMORY_RULES),
    (add_backbone_config, {}),
    (add_dataset_config, DATASET_RULES),
    (add_run_config, RUN_RULES),
)


def extend_cfg(cfg):
    """Add every key this project reads to a Dassl default config (not frozen)."""
    for add, _ in NODES:
        add(cfg)


def check_values(cfg) -> None:
    """Every rule above: values that yacs accepts by type but that cannot work, refused before
    anything runs (train.py calls it once the files, flags and preset are merged)."""
    for rules in (DASSL_RULES, *(rules for _, rules in NODES)):
        for key, checks in rules.items():
            for check in checks:
                check(cfg, key, _value(cfg, key))


def config_dict(cfg) -> dict:
    """The config as written to ``config.yaml`` and read back (tuples as lists), the form the
    fingerprint is computed on, so a config and its saved copy compare equal."""
    return yaml.safe_load(cfg.dump())


def lambda_wc(cfg) -> float:
    """λ1: the configured value, or 1/shots when it is negative (the paper's rule)."""
    value, shots = cfg.TRAINER.LAMM.LAMBDA_WC, cfg.DATASET.NUM_SHOTS
    if value < 0 and shots < 1:
        raise ConfigError(
            "TRAINER.LAMM.LAMBDA_WC < 0 means 1/shots, but DATASET.NUM_SHOTS is "
            f"{shots} (all images); set TRAINER.LAMM.LAMBDA_WC explicitly, e.g. 1.0."
        )
    return lambda_wc_in_force(value, shots)


# ---------------------------------------------------------------- merging files and options


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


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _floats_where_floats_belong(cfg, values: dict, prefix="") -> dict:
    """``LAMBDA_WC: 1`` means 1.0: an int where the default is a float is taken as that float."""
    coerced = {}
    for key, value in values.items():
        if isinstance(value, dict):
            coerced[key] = _floats_where_floats_belong(cfg, value, f"{prefix}{key}.")
        elif _is_int(value) and isinstance(_value(cfg, prefix + key), float):
            coerced[key] = float(value)
        else:
            coerced[key] = value
    return coerced


def _coerce_opts(cfg, opts):
    coerced = list(opts)
    for i in range(0, len(coerced) - 1, 2):
        if isinstance(_value(cfg, coerced[i]), float):
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
            values = load_config_file(source)
            cfg.merge_from_other_cfg(CN(_floats_where_floats_belong(cfg, values)))
            keys_set = all_keys(values)
        else:
            cfg.merge_from_list(_coerce_opts(cfg, source))
            keys_set = list(source[0::2])
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
    check_coop_context_length(cfg, keys_set)


def project_names(registry, package: str):
    """The names registered by this project's ``package`` (not Dassl's own trainers/datasets)."""
    return sorted(name for name in registry.registered_names()
                  if getattr(registry.get(name), "__module__", "").split(".")[0] == package)


def _check_name(kind: str, name: str, registry, flag: str, package: str) -> None:
    if name in registry.registered_names():
        return
    _name_error(kind, name, project_names(registry, package), flag)


def _name_error(kind: str, name: str, ours, flag: str) -> None:
    if not name:
        raise ConfigError(
            f"No {kind} given ({flag}; one of {', '.join(ours)}). Usage: python train.py --root DATA --trainer NAME "
            "--dataset-config-file configs/datasets/<name>.yaml --config-file configs/trainers/<trainer>/<file>.yaml "
            "--output-dir OUT [KEY VALUE ...]; python train.py --help lists every flag."
        )
    close = difflib.get_close_matches(name, ours, n=3)
    hint = f" Did you mean {', '.join(close)}?" if close else ""
    raise ConfigError(f"Unknown {kind} {name!r} ({flag}).{hint} Registered: {', '.join(ours)}.")


def check_known_names(cfg) -> None:
    """The trainer and dataset names against the method table and the catalog, before torch and
    Dassl are imported, so that a typo is reported at once (``check_registered`` asks Dassl later)."""
    from datasets.catalog import CATALOG
    from trainers.methods import METHODS

    if cfg.TRAINER.NAME not in METHODS:
        _name_error("trainer", cfg.TRAINER.NAME, sorted(METHODS), "--trainer")
    names = sorted(info.name for info in CATALOG.values())
    if cfg.DATASET.NAME not in names:
        _name_error("dataset", cfg.DATASET.NAME, names, "--dataset-config-file configs/datasets/<name>.yaml (DATASET.NAME)")


def check_registered(cfg) -> None:
    from dassl.data.datasets import DATASET_REGISTRY  # here: the other checks need no Dassl
    from dassl.engine import TRAINER_REGISTRY

    _check_name("trainer", cfg.TRAINER.NAME, TRAINER_REGISTRY, "--trainer", "trainers")
    _check_name("dataset", cfg.DATASET.NAME, DATASET_REGISTRY,
                "--dataset-config-file configs/datasets/<name>.yaml (DATASET.NAME)", "datasets")

"""Config keys this project adds to Dassl's defaults; each trainer family owns one node.

``extend_cfg`` is what train.py calls before merging any YAML file, so that every key below
exists (yacs rejects unknown keys) and has a documented default.
"""
import yaml
from yacs.config import CfgNode as CN

from lamm.errors import ConfigError
from lamm.run_record import lambda_wc_in_force


def add_coop_config(cfg):
    """CoOp's keys, with CoOp's defaults, so CoOp configs and commands work unchanged."""
    cfg.TRAINER.COOP = CN()
    cfg.TRAINER.COOP.N_CTX = 16  # M, the number of context vectors [V]_1..M (Eq. 4)
    cfg.TRAINER.COOP.CSC = False  # class-specific context
    cfg.TRAINER.COOP.CTX_INIT = ""  # initial context words, e.g. "a photo of a" (sets N_CTX)
    cfg.TRAINER.COOP.PREC = "fp16"  # fp16, fp32 or amp
    cfg.TRAINER.COOP.CLASS_TOKEN_POSITION = "end"  # end, middle or front


def add_cocoop_config(cfg):
    """CoCoOp's keys, with the CoOp repository's names and defaults (its configs set N_CTX 4 and
    CTX_INIT "a photo of a"); the Meta-Net's size follows CLIP's widths and has no key there either."""
    cfg.TRAINER.COCOOP = CN()
    cfg.TRAINER.COCOOP.N_CTX = 16  # M, context vectors v_1..v_M, each shifted by the Meta-Net's π(x)
    cfg.TRAINER.COCOOP.CTX_INIT = ""  # initial context words, e.g. "a photo of a" (sets N_CTX)
    cfg.TRAINER.COCOOP.PREC = "fp16"  # fp16, fp32 or amp


def add_maple_config(cfg):
    """MaPLe's keys, with MaPLe's defaults."""
    cfg.TRAINER.MAPLE = CN()
    cfg.TRAINER.MAPLE.N_CTX = 2  # context vectors learned from the start of CTX_INIT
    cfg.TRAINER.MAPLE.CTX_INIT = "a photo of a"  # the words after the first N_CTX stay fixed
    cfg.TRAINER.MAPLE.PREC = "fp16"  # fp16, fp32 or amp
    cfg.TRAINER.MAPLE.PROMPT_DEPTH = 9  # J: layers 0..J-1 of both encoders get prompts


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
    # the text tower checkpoints on the CPU (why: lamm/memory.py).
    cfg.TRAINER.MEMORY.RETURN_FREED_MEMORY = "auto"


def add_dataset_config(cfg):
    cfg.DATASET.SUBSAMPLE_CLASSES = "all"  # the label space: all, base or new classes (CoOp)
    # Whose images train: all, base or new. Class-incremental stage 2 trains on the new classes'
    # images with all classes in the label space (SUBSAMPLE_CLASSES all, TRAIN_CLASSES new).
    cfg.DATASET.TRAIN_CLASSES = "all"


def add_run_config(cfg):
    """What the run is, for its record (``results.json``): labels only, never read by the
    computation, and left out of the config fingerprint (``lamm/run_record.py``)."""
    cfg.RUN = CN()
    # fewshot, base2new, cross_dataset, dg or incremental; "" derives it: SUBSAMPLE_CLASSES
    # base/new -> base2new, TRAIN_CLASSES other than all -> incremental, else fewshot.
    cfg.RUN.PROTOCOL = ""
    cfg.RUN.VARIANT = ""  # what sets the run apart from the default (the scripts: TAG or the overrides)
    cfg.RUN.STAGE = 0  # class-incremental stage (1, 2); 0: none
    cfg.RUN.EVAL_SET = ""  # the evaluated set: "base", "new", "set1", "set2", a target dataset key
    cfg.RUN.SOURCE_DATASET = ""  # cross-dataset / DG evaluations: the dataset key the model was trained on


def extend_cfg(cfg):
    """Add every key this project reads to a Dassl default config (not frozen)."""
    add_coop_config(cfg)
    add_cocoop_config(cfg)
    add_maple_config(cfg)
    add_lamm_config(cfg)
    add_shortcut_config(cfg)
    add_memory_config(cfg)
    add_dataset_config(cfg)
    add_run_config(cfg)


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


def check_choice(value, choices, key):
    if value not in choices:
        raise ConfigError(f"{key} must be one of {', '.join(map(str, choices))}, got {value!r}.")

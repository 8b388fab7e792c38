"""``TRAINER.LAMM.PRESET``: one switch for every choice that produced the paper's numbers."""
from dataclasses import dataclass
from typing import Callable, Sequence, Tuple

from lamm.errors import ConfigError

PRESETS = ("default", "official")
TERM_OFF = 0.0  # a zero weight switches a term off; the official code's ablations removed terms


@dataclass(frozen=True)
class Choice:
    key: str  # dotted config key
    value: object  # the official code's value
    applies: Callable  # (trainer class, cfg) -> bool
    also_allowed: Tuple = ()  # explicit command-line values that keep the run official


def _labels(trainer, cfg):
    return getattr(trainer, "learn_labels", False)


def _coop_labels(trainer, cfg):
    return _labels(trainer, cfg) and getattr(trainer, "options_node", None) == "COOP"


def _maple_labels(trainer, cfg):
    return _labels(trainer, cfg) and getattr(trainer, "options_node", None) == "MAPLE"


def _coop_prompts_with_init_phrase(trainer, cfg):
    prompt_learning = hasattr(trainer, "build_prompt_learner")  # not ZeroshotCLIP
    return prompt_learning and getattr(trainer, "options_node", None) == "COOP" and bool(cfg.TRAINER.COOP.CTX_INIT)


OFFICIAL = (
    # The official scripts never passed --shots, so λ1 = 1/1 at every shot count.
    Choice("TRAINER.LAMM.LAMBDA_WC", 1.0, _labels, (TERM_OFF,)),
    Choice("TRAINER.LAMM.LAMBDA_COS", 1.0, _labels, (TERM_OFF,)),
    Choice("TRAINER.LAMM.LAMBDA_KD", 0.05, _labels, (TERM_OFF,)),
    Choice("TRAINER.LAMM.KD_TEMPERATURE", 2.0, _labels),
    Choice("TRAINER.LAMM.COS_REDUCTION", "official", _labels),
    Choice("TRAINER.LAMM.KD_DIRECTION", "official", _labels),
    Choice("TRAINER.LAMM.ORIGINAL_CONTEXT", "current", _labels),
    # LAMM and CoOp + LAMM: the first min(name lengths) tokens, the name's slot, "end" only.
    Choice("TRAINER.LAMM.LABEL_TOKENS", "shortest", _coop_labels),
    Choice("TRAINER.COOP.CLASS_TOKEN_POSITION", "end", _coop_labels),
    # MaPLe + LAMM: one label per class in the slot of "of", the full name kept.
    Choice("TRAINER.LAMM.MAPLE_LABEL_LAYOUT", "official", _maple_labels),
    # CoOp ignores CSC when CTX_INIT is given: one shared context from the phrase.
    Choice("TRAINER.COOP.CSC", False, _coop_prompts_with_init_phrase),
)


def _get(cfg, key):
    node = cfg
    for part in key.split("."):
        node = node[part]
    return node


def _set(cfg, key, value):
    *path, leaf = key.split(".")
    node = cfg
    for part in path:
        node = node[part]
    node[leaf] = value


def _trainer_class(name):
    from dassl.engine import TRAINER_REGISTRY

    return TRAINER_REGISTRY.get(name) if name in TRAINER_REGISTRY.registered_names() else None


def preset_choices(cfg, trainer=None) -> Sequence[Choice]:
    """The choices ``cfg``'s preset sets for its trainer (none for ``default``)."""
    preset = cfg.TRAINER.LAMM.PRESET
    if preset not in PRESETS:
        raise ConfigError(f"Unknown TRAINER.LAMM.PRESET {preset!r}; choose one of {', '.join(PRESETS)}.")
    if preset == "default":
        return ()
    trainer = _trainer_class(cfg.TRAINER.NAME) if trainer is None else trainer
    if trainer is None:  # an unknown trainer name is reported by the registry check
        return ()
    return tuple(choice for choice in OFFICIAL if choice.applies(trainer, cfg))


def apply_preset(cfg, overrides: Sequence[str] = (), trainer=None) -> None:
    """Set the preset's choices in ``cfg`` (not frozen), after the command-line ``overrides`` (``opts``)."""
    explicit = set(overrides[0::2]) if overrides else set()
    for choice in preset_choices(cfg, trainer):
        value = _get(cfg, choice.key)
        if choice.key in explicit and value != choice.value:
            if value in choice.also_allowed:
                continue  # e.g. a loss term switched off on purpose
            raise ConfigError(
                f"TRAINER.LAMM.PRESET {cfg.TRAINER.LAMM.PRESET} sets {choice.key} to {choice.value!r}, but the "
                f"command line gives {value!r}; drop one of the two.")
        _set(cfg, choice.key, type(value)(choice.value))

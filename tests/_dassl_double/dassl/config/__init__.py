"""``dassl.config``: the default configuration tree (yacs)."""
from .defaults import _C as cfg_default


def get_cfg_default():
    """A fresh, mutable copy of the default config."""
    return cfg_default.clone()


def clean_cfg(cfg, trainer):
    """Drop every TRAINER sub-node except NAME and the one of ``trainer``."""
    for key in list(cfg.TRAINER.keys()):
        if key != "NAME" and key != trainer.upper():
            cfg.TRAINER.pop(key, None)

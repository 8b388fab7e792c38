"""LAMM on plain CLIP: learn only the label embeddings, with the hierarchical loss."""
from dassl.engine import TRAINER_REGISTRY

from .methods import flags_from_table
from .prompt_trainer import PromptTrainer


@TRAINER_REGISTRY.register()
@flags_from_table
class LAMM(PromptTrainer):
    """Label embeddings only; the flags are LAMM's row of trainers/methods.py."""

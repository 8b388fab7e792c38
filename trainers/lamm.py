"""LAMM on plain CLIP: learn only the label embeddings, with the hierarchical loss.

The context stays the hand-made "a photo of a" (the official code's ``--origin-clip``).
"""
from dassl.engine import TRAINER_REGISTRY

from .prompt_trainer import PromptTrainer


@TRAINER_REGISTRY.register()
class LAMM(PromptTrainer):
    learn_context = False
    learn_labels = True

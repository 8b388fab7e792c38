"""LAMM on plain CLIP: learn only the label embeddings, with the hierarchical loss.

The context stays the hand-made "a photo of a" (the official code's ``--origin-clip``). The
method, piece by piece:

- the label embeddings ``<M_i>``: ``lamm/label_embeddings.py``, placed in the prompt by
  ``lamm/prompt_learner.py`` (``lamm/prompt_layout.py`` says where each token sits);
- the hierarchical loss (paper Eq. 9): ``lamm/hierarchical_loss.py``;
- the training step and evaluation: ``trainers/prompt_trainer.py``;
- checkpoints, resuming and MODEL.INIT_WEIGHTS: ``trainers/checkpoints.py``;
- its config keys (``TRAINER.LAMM``): ``trainers/config.py``; the record of a run: ``trainers/clip_trainer.py``.
"""
from dassl.engine import TRAINER_REGISTRY

from .methods import flags_from_table
from .prompt_trainer import PromptTrainer


@TRAINER_REGISTRY.register()
@flags_from_table
class LAMM(PromptTrainer):
    """Label embeddings only; the flags are LAMM's row of trainers/methods.py."""

"""CoOp (Zhou et al., IJCV 2022) and CoOp + LAMM: learned context, optionally learned labels."""
from dassl.engine import TRAINER_REGISTRY

from .prompt_trainer import PromptTrainer


@TRAINER_REGISTRY.register()
class CoOp(PromptTrainer):
    """CoOp's context vectors; the class names stay words. Reads TRAINER.COOP as CoOp does."""

    learn_context = True
    learn_labels = False


@TRAINER_REGISTRY.register()
class CoOpLAMM(PromptTrainer):
    """CoOp's context plus LAMM's label embeddings and hierarchical loss (paper Eq. 4)."""

    learn_context = True
    learn_labels = True

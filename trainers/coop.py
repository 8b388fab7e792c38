"""CoOp (Zhou et al., IJCV 2022) and CoOp + LAMM: learned context, optionally learned labels."""
from dassl.engine import TRAINER_REGISTRY

from .methods import flags_from_table
from .prompt_trainer import PromptTrainer


@TRAINER_REGISTRY.register()
@flags_from_table
class CoOp(PromptTrainer):
    """CoOp's context vectors; the class names stay words. Reads TRAINER.COOP as CoOp does."""


@TRAINER_REGISTRY.register()
@flags_from_table
class CoOpLAMM(PromptTrainer):
    """CoOp's context plus LAMM's label embeddings and hierarchical loss (paper Eq. 4)."""

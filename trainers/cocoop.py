"""CoCoOp (Zhou et al., CVPR 2022) and CoCoOp + LAMM: the context shifted per image by a Meta-Net.

CoCoOp computes what the CoOp repository's ``trainers/cocoop.py`` computes (its config keys
``TRAINER.COCOOP``, its configs, its checkpoints). The method, piece by piece:

- the Meta-Net and the conditional prompts: ``lamm/cocoop_prompts.py``;
- per-image text features and logits, and the exact shortcuts per image: ``lamm/cocoop_model.py``
  (the text tower itself: ``lamm/text_encoder.py``);
- the loss: cross-entropy; CoCoOp + LAMM adds LAMM's label embeddings and hierarchical loss,
  whose feature term is taken per image (``lamm/cocoop_loss.py``);
- the training step, the optimiser (SGD on ``ctx`` and the Meta-Net) and the LR schedule:
  ``trainers/prompt_trainer.py``; checkpoints: ``trainers/checkpoints.py``;
- its config keys: ``add_cocoop_config`` in ``trainers/config.py``; the choices: docs/COCOOP.md.
"""
import dataclasses

from dassl.engine import TRAINER_REGISTRY

from lamm.backbones import as_backbone
from lamm.cocoop_loss import PerImageHierarchicalLoss
from lamm.cocoop_model import ConditionalPromptedCLIP
from lamm.cocoop_prompts import ConditionalPromptLearner
from lamm.errors import CheckpointError

from .checkpoints import check_model_dir, load_checkpoint
from .methods import flags_from_table
from .prompt_trainer import PromptTrainer


class _CoCoOpBase(PromptTrainer):
    model_class = ConditionalPromptedCLIP

    def build_prompt_learner(self, clip_model) -> ConditionalPromptLearner:
        cocoop = self.cfg.TRAINER.COCOOP
        backbone = as_backbone(clip_model)
        learner = ConditionalPromptLearner(
            clip_model.token_embedding,
            self.dm.dataset.classnames,
            image_dim=backbone.visual.output_dim,
            n_ctx=None if cocoop.CTX_INIT else cocoop.N_CTX,  # as CoCoOp: CTX_INIT sets the length
            context_init=cocoop.CTX_INIT,
            dtype=clip_model.dtype,
            truncate_after_eot=self.cfg.TRAINER.SHORTCUTS.TRUNCATE_PROMPTS and backbone.prompt_shortcuts_exact,
            text_tokenizer=backbone.tokenizer,
            **self.label_options(),
        )
        print(f'Initial context: "{cocoop.CTX_INIT or " ".join(["X"] * learner.n_ctx)}"')
        print(f"Number of context words (tokens): {learner.n_ctx}")
        return learner

    def load_model(self, directory, epoch=None):
        """As the other trainers, but a checkpoint without a Meta-Net (CoOp's, of the CoOp
        repository, which holds no ``meta`` to tell) is refused: its context alone is not CoCoOp."""
        if directory:
            path = check_model_dir(directory, self.model_name, epoch)
            checkpoint = load_checkpoint(path, "eval", family=self.family_name(), learns_labels=self.learn_labels)
            state = checkpoint["state_dict"]
            if not any(key.startswith("meta_net.") for key in state):
                raise CheckpointError(
                    f"{path} holds no Meta-Net (meta_net.*): it is not a CoCoOp checkpoint (CoOp's?). Evaluate it "
                    "with --trainer CoOp, or start CoCoOp from its context with MODEL.INIT_WEIGHTS <its run folder>."
                )
        super().load_model(directory, epoch)

    def build_criterion(self):
        return PerImageHierarchicalLoss(**dataclasses.asdict(super().build_criterion()))


@TRAINER_REGISTRY.register()
@flags_from_table
class CoCoOp(_CoCoOpBase):
    """CoCoOp: the context and the Meta-Net learn; the class names stay words."""


@TRAINER_REGISTRY.register()
@flags_from_table
class CoCoOpLAMM(_CoCoOpBase):
    """CoCoOp plus LAMM's label embeddings and hierarchical loss."""

"""MaPLe (Khattak et al., CVPR 2023) and MaPLe + LAMM: deep multi-modal prompts, optional labels."""
from dassl.engine import TRAINER_REGISTRY

from lamm.errors import ConfigError
from lamm.maple_prompts import MultiModalPromptLearner

from .methods import flags_from_table
from .prompt_trainer import PromptTrainer


class _MaPLeBase(PromptTrainer):
    """MaPLe's prompt learner; options (TRAINER.MAPLE) and checkpoint folder come from the method table."""

    def build_prompt_learner(self, clip_model):
        visual = clip_model.visual
        if not hasattr(visual, "conv1") or not hasattr(visual, "class_embedding"):
            raise ConfigError(
                f"MaPLe prompts a vision transformer; {self.cfg.MODEL.BACKBONE.NAME} is a ResNet. "
                "Use a ViT backbone (e.g. ViT-B/16) or a CoOp-based trainer.")
        maple = self.cfg.TRAINER.MAPLE
        layout = self.cfg.TRAINER.LAMM.MAPLE_LABEL_LAYOUT
        if self.learn_labels:
            print(f"Label layout: {layout}" + (" (one label per class in the slot after the context, "
                                               "the full class name kept)" if layout == "official" else ""))
        return MultiModalPromptLearner(
            clip_model.token_embedding,
            self.dm.dataset.classnames,
            prompt_depth=maple.PROMPT_DEPTH,
            vision_width=visual.conv1.out_channels,
            text_layers=len(clip_model.transformer.resblocks),
            vision_layers=len(visual.transformer.resblocks),
            n_ctx=maple.N_CTX,
            context_init=maple.CTX_INIT,
            learn_context=True,
            dtype=clip_model.dtype,
            label_placement=layout,
            truncate_after_eot=self.cfg.TRAINER.SHORTCUTS.TRUNCATE_PROMPTS,
            **self.label_options(),
        )


@TRAINER_REGISTRY.register()
@flags_from_table
class MaPLe(_MaPLeBase):
    """MaPLe's deep prompts, the class names stay words."""


@TRAINER_REGISTRY.register()
@flags_from_table
class MaPLeLAMM(_MaPLeBase):
    """MaPLe's deep prompts plus LAMM's label embeddings."""

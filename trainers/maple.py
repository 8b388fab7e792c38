"""MaPLe (Khattak et al., CVPR 2023) and MaPLe + LAMM: deep multi-modal prompts, optional labels."""
from dassl.engine import TRAINER_REGISTRY

from lamm.backbones import as_backbone
from lamm.errors import ConfigError
from lamm.maple_prompts import MultiModalPromptLearner

from .methods import flags_from_table
from .prompt_trainer import PromptTrainer


class _MaPLeBase(PromptTrainer):
    """MaPLe's prompt learner; options (TRAINER.MAPLE) and checkpoint folder come from the method table."""

    def build_prompt_learner(self, clip_model):
        backbone = as_backbone(clip_model)
        visual = backbone.vision_transformer
        if visual is None and backbone.family == "openai":
            raise ConfigError(
                f"MaPLe prompts a vision transformer; {self.cfg.MODEL.BACKBONE.NAME} is a ResNet. "
                "Use a ViT backbone (e.g. ViT-B/16) or a CoOp-based trainer."
            )
        if not backbone.maple_compatible:
            raise ConfigError(
                f"MaPLe prompts open_clip's own ViT in OpenAI's layout, with the context right after one start "
                f"token; {self.cfg.MODEL.BACKBONE.NAME} has "
                + ("another vision tower (e.g. timm's)" if visual is None else "a tokenizer without one start token")
                + ". Use CoOp, LAMM or CoOpLAMM with this backbone, or a ViT-B-16-style open_clip model."
            )
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
            text_layers=len(backbone.text_tower.transformer.resblocks),
            vision_layers=len(visual.transformer.resblocks),
            n_ctx=maple.N_CTX,
            context_init=maple.CTX_INIT,
            learn_context=True,
            dtype=clip_model.dtype,
            label_placement=layout,
            truncate_after_eot=self.cfg.TRAINER.SHORTCUTS.TRUNCATE_PROMPTS and backbone.prompt_shortcuts_exact,
            text_tokenizer=backbone.tokenizer,
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

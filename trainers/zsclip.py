"""Zero-shot CLIP with CoOp's hand-made template for each dataset (the baseline of every table)."""
import torch
import torch.nn.functional as F
from dassl.engine import TRAINER_REGISTRY

from datasets.catalog import zero_shot_template
from lamm.errors import ConfigError

from .clip_trainer import ClipTrainer
from .methods import flags_from_table


@TRAINER_REGISTRY.register()
@flags_from_table
class ZeroshotCLIP(ClipTrainer):
    """Nothing is trained (not few-shot in the method table): the templates' text features are computed once."""

    def build_model(self):
        clip_model = self.load_clip_model().to(self.device)  # a lamm.backbones.Backbone
        template = zero_shot_template(self.cfg.DATASET.NAME)  # CoOp's per-dataset prompt, from the catalog
        prompts = [template.format(name.replace("_", " ")) for name in self.dm.dataset.classnames]
        print(f"Prompts: {prompts}")
        with torch.no_grad():
            text_features = clip_model.encode_text(prompts)  # the model's own tokenizer and text forward
        self.text_features = F.normalize(text_features, dim=-1)
        self.clip_model = clip_model

    def model_inference(self, images):
        image_features = F.normalize(self.clip_model.encode_image(images.type(self.clip_model.dtype)), dim=-1)
        return self.clip_model.logits(image_features, self.text_features)

    def train(self):
        raise ConfigError("ZeroshotCLIP has nothing to train; run it with --eval-only.")

"""Zero-shot CLIP with CoOp's hand-made template for each dataset (the baseline of every table)."""
import torch
import torch.nn.functional as F
from dassl.engine import TRAINER_REGISTRY

from lamm.errors import ConfigError

from .clip_trainer import ClipTrainer

# CoOp's per-dataset templates (trainers/zsclip.py in the CoOp repository).
TEMPLATES = {
    "OxfordPets": "a photo of a {}, a type of pet.",
    "OxfordFlowers": "a photo of a {}, a type of flower.",
    "FGVCAircraft": "a photo of a {}, a type of aircraft.",
    "DescribableTextures": "{} texture.",
    "EuroSAT": "a centered satellite photo of {}.",
    "StanfordCars": "a photo of a {}.",
    "Food101": "a photo of {}, a type of food.",
    "SUN397": "a photo of a {}.",
    "Caltech101": "a photo of a {}.",
    "UCF101": "a photo of a person doing {}.",
    "ImageNet": "a photo of a {}.",
    "ImageNetSketch": "a photo of a {}.",
    "ImageNetV2": "a photo of a {}.",
    "ImageNetA": "a photo of a {}.",
    "ImageNetR": "a photo of a {}.",
}
DEFAULT_TEMPLATE = "a photo of a {}."


@TRAINER_REGISTRY.register()
class ZeroshotCLIP(ClipTrainer):
    """Nothing is trained: the text features of the templates are computed once."""

    trains_nothing = True

    def build_model(self):
        clip_model = self.load_clip_model().to(self.device)  # a lamm.backbones.Backbone
        template = TEMPLATES.get(self.cfg.DATASET.NAME, DEFAULT_TEMPLATE)
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

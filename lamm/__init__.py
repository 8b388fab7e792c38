"""LAMM: Label Alignment for Multi-Modal prompt learning (Gao et al., AAAI 2024).

The method itself, in plain PyTorch and independent of Dassl:

- ``label_embeddings``: the learnable label embeddings ``<M_i>``.
- ``prompt_layout``: where the context and the class-name tokens sit in each prompt.
- ``prompt_learner``: composes prompt embeddings from context and labels.
- ``maple_prompts``: MaPLe's deep multi-modal prompts on top of the prompt learner.
- ``text_encoder``: CLIP's text transformer over composed prompt embeddings.
- ``vision_encoder``: CLIP's vision transformer with MaPLe's prompts.
- ``model``: CLIP with a prompt learner, returning logits and features.
- ``hierarchical_loss``: the loss terms, named and weighted (parameter, feature and logits space).
- ``clip_loader``: load CLIP by name or from a local file.
- ``precision``: the fp16 / fp32 / amp switch.
- ``preprocess``: a run's test-time image preprocessing.
- ``run_record``: the run record, ``results.json``.

``files`` (atomic writes, file locks) and ``errors`` (errors that carry their fix) are the
project's shared base: the trainers, the datasets and the tools build on them. The Dassl trainers
in ``trainers/`` are thin layers over these modules.
"""
import warnings

from . import startup  # noqa: F401  (first: no network wait at import or exit; see lamm/startup.py)

# openai-clip imports setuptools' pkg_resources, which warns on every command; the pin
# setuptools<81 keeps it working, so the notice says nothing a user can act on.
warnings.filterwarnings("ignore", message="pkg_resources is deprecated", category=UserWarning)

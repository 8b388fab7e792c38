"""LAMM: Label Alignment for Multi-Modal prompt learning (Gao et al., AAAI 2024).

The method itself, in plain PyTorch and independent of Dassl:

- ``clip_loader``: load CLIP by name or from a local file.
- ``precision``: the fp16 / fp32 / amp switch.
- ``prompt_layout``: where the context and the class-name tokens sit in each prompt.
- ``label_embeddings``: the learnable label embeddings ``<M_i>``.
- ``prompt_learner``: composes prompt embeddings from context and labels.
- ``text_encoder``: CLIP's text transformer over composed prompt embeddings.
- ``hierarchical_loss``: the parameter-, feature- and logits-space terms.
- ``model``: CLIP with a prompt learner, returning logits and features.

The Dassl trainers in ``trainers/`` are thin layers over these modules.
"""
import warnings

from . import startup  # noqa: F401  (first: no network wait at import or exit; see lamm/startup.py)

# openai-clip imports setuptools' pkg_resources, which warns on every command; the pin
# setuptools<81 keeps it working, so the notice says nothing a user can act on.
warnings.filterwarnings("ignore", message="pkg_resources is deprecated", category=UserWarning)

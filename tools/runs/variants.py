"""Named variants of a method: the overrides they set and the name their runs are filed and recorded under."""
import re
from dataclasses import dataclass
from typing import Dict, Sequence, Tuple


@dataclass(frozen=True)
class Variant:
    """Overrides with a name: the name is the folder suffix and the recorded RUN.VARIANT."""

    name: str
    opts: Tuple[str, ...]
    title: str


_WC, _COS, _KD = "TRAINER.LAMM.LAMBDA_WC", "TRAINER.LAMM.LAMBDA_COS", "TRAINER.LAMM.LAMBDA_KD"


def _backbone_variant(backbone: str) -> Variant:
    # "ViT-B/32" -> "vit_b32": the folder names scripts/ablation_backbone.sh always wrote.
    return Variant(backbone.lower().replace("-", "_").replace("/", ""), ("MODEL.BACKBONE.NAME", backbone),
                   f"{backbone} backbone (Fig. 4)")


VARIANTS: Dict[str, Variant] = {v.name: v for v in (
    Variant("woHL", ("TRAINER.LAMM.HIERARCHICAL_LOSS", "False"), "cross-entropy only (Table 3, w/o HL)"),
    Variant("random_init", ("TRAINER.LAMM.LABEL_INIT", "random"), "random label init (Table 5)"),
    Variant("ce_wc", (_COS, "0.0", _KD, "0.0"), "CE + L_WC (Table 4)"),
    Variant("ce_cos", (_WC, "0.0", _KD, "0.0"), "CE + L_COS (Table 4)"),
    Variant("ce_kd", (_WC, "0.0", _COS, "0.0"), "CE + L_KD (Table 4)"),
    Variant("ce_wc_cos", (_KD, "0.0"), "CE + L_WC + L_COS (Table 4)"),
    Variant("ce_wc_kd", (_COS, "0.0"), "CE + L_WC + L_KD (Table 4)"),
    Variant("ce_cos_kd", (_WC, "0.0"), "CE + L_COS + L_KD (Table 4)"),
    *(_backbone_variant(b) for b in ("RN50", "RN101", "ViT-B/32")),
    Variant("official", ("TRAINER.LAMM.PRESET", "official"), "the official code's settings (OFFICIAL=1)"),
)}
DEFAULT_VARIANT = "default"  # the shipped config as it is: no suffix
VARIANT_GROUPS: Dict[str, Tuple[str, ...]] = {
    "loss": ("ce_wc", "ce_cos", "ce_kd", "ce_wc_cos", "ce_wc_kd", "ce_cos_kd"),
    "backbones": ("rn50", "rn101", "vit_b32", DEFAULT_VARIANT),  # ViT-B/16 is the default runs
}


def tag_suffix(opts: Sequence[str], tag: str = "") -> str:
    """The folder-name text of a run's overrides: ``tag`` when given, else the overrides made safe."""
    if tag:
        return tag
    text = " ".join(opts).encode("utf-8", "surrogateescape")
    text = re.sub(rb"[^A-Za-z0-9._=\n-]", b"-", text)
    text = re.sub(rb"-+", b"-", text)
    return text.decode("utf-8", "surrogateescape").rstrip("\n")

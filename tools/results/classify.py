"""What an experiment is, for the tables: its method, dataset, protocol and the paper's names."""
from dataclasses import dataclass, replace
from typing import Any, Dict, Iterable, List, Optional, Sequence

from datasets.catalog import CATALOG, DG_TARGETS, FEWSHOT_BENCHMARKS, lookup
from tools.results.collect import ExperimentResult, natural_key
from trainers.methods import METHODS, table_order

# Records name datasets by Dassl NAME ("OxfordFlowers"); the benchmark lists hold config keys.
PAPER_DATASETS = tuple(CATALOG[k].name for k in FEWSHOT_BENCHMARKS)
DG_TARGET_NAMES = tuple(CATALOG[k].name for k in DG_TARGETS)
DG_SOURCE = CATALOG["imagenet"].name
# The column names the LAMM paper uses where they are not the NAME.
_PAPER_LABELS = {info.name: info.paper_label for info in CATALOG.values() if info.paper_label != info.name}
_DATASET_ORDER = {name: i for i, name in enumerate(PAPER_DATASETS + DG_TARGET_NAMES)}
_LABEL_KEYS = {label.lower(): name for name, label in _PAPER_LABELS.items()}

# The methods in the paper's row order, and their paper names: the method table's (trainers/methods.py).
TRAINER_ORDER = table_order()
TRAINER_LABELS = {name: METHODS[name].label for name in TRAINER_ORDER}
SHOT_FREE_TRAINERS = frozenset(m.trainer for m in METHODS.values() if not m.few_shot)  # one number for every shot count

# Loss terms of the hierarchical loss (paper Eq. 9), in the paper's order.
LOSS_TERMS = ("ce", "wc", "cos", "kd")
ALL_TERMS = frozenset(LOSS_TERMS)
CE_ONLY = frozenset({"ce"})
# Table 4's rows in the paper's order.
HL_ROWS = ("ce", "ce+wc+cos+kd", "ce+cos+kd", "ce+wc+kd", "ce+wc+cos", "ce+kd", "ce+cos", "ce+wc")

# Variant names the scripts use for the paper's ablations, shown as the paper names them.
VARIANT_LABELS = {"woHL": "w/o HL", "random_init": "random init"}


def dataset_key(name: Optional[str]) -> Optional[str]:
    """The Dassl NAME of a dataset given its NAME, config key or paper label; unknown names pass."""
    if name is None:
        return None
    info = lookup(str(name))
    if info is not None:
        return info.name
    return _LABEL_KEYS.get(str(name).lower(), str(name))


def datasets_to_cover(names):
    """--datasets: the datasets every average should cover; 'found' = the datasets present."""
    if not names:
        return PAPER_DATASETS
    if names == ["found"]:
        return None
    return tuple(dataset_key(n) for n in names)


def dataset_label(name: str) -> str:
    return _PAPER_LABELS.get(name, name)


def dataset_sort_key(name: str):
    return (_DATASET_ORDER.get(name, len(_DATASET_ORDER)), natural_key(name))


_BACKBONE_ORDER = ("RN50", "RN101", "RN50x4", "RN50x16", "RN50x64", "ViT-B/32", "ViT-B/16", "ViT-L/14")


def backbone_sort_key(name: str):
    return (_BACKBONE_ORDER.index(name) if name in _BACKBONE_ORDER else len(_BACKBONE_ORDER), name)


def loss_terms_name(terms: Iterable[str]) -> str:
    """``{"kd", "ce"}`` -> ``"ce+kd"`` (the paper's order)."""
    terms = set(terms)
    return "+".join(t for t in LOSS_TERMS if t in terms)


@dataclass(frozen=True)
class Method:
    """What was trained (one row of a table), as its records state it."""

    trainer: str
    variant: str = ""  # RUN.VARIANT ("" = the shipped config)
    backbone: str = ""  # "ViT-B/16", "RN50", ... ("" when the record does not say)
    preset: str = "default"  # TRAINER.LAMM.PRESET
    untrained: bool = False  # evaluated the untrained prompts (eval-only without --model-dir)
    eval_only: bool = False  # few-shot protocol only: an evaluation of a trained checkpoint
    loss: str = ""  # loss terms in force ("ce+wc"), LAMM trainers only: labels the variant

    @property
    def shot_free(self) -> bool:
        return self.trainer in SHOT_FREE_TRAINERS


@dataclass(frozen=True)
class Entry:
    """One experiment (runs of one identity), classified from its records."""

    exp: ExperimentResult
    kind: Optional[str]  # fewshot | dg | incremental | base2new | cross_dataset | None (not a table's)
    method: Optional[Method]
    dataset: Optional[str]  # Dassl NAME
    shots: Optional[int]
    stage: Optional[int] = None  # incremental: 1 or 2
    eval_set: Optional[Any] = None  # incremental: 1, 2 (0: all classes); base2new: "base"/"new"; cross: target
    subsample: str = "all"
    loss_terms: Optional[frozenset] = None  # LAMM trainers only
    label_init: Optional[str] = None  # LAMM trainers only: "word" or "random"
    source_dataset: Optional[str] = None  # dg / cross_dataset evaluations: what the model was trained on
    eval_only: bool = False

    @property
    def ablation_only(self) -> bool:
        """A Table 4 / Table 5 variant that does not belong in the main few-shot table."""
        partial_loss = self.loss_terms is not None and self.loss_terms not in (ALL_TERMS, CE_ONLY)
        return partial_loss or self.label_init == "random"

    @property
    def fingerprint(self) -> Optional[str]:
        return self.exp.metadata.get("config_fingerprint")


def _int(value) -> Optional[int]:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _text(value) -> str:
    return value.strip() if isinstance(value, str) else ""


def _incremental_set(meta: Dict[str, Any]) -> Optional[int]:
    """1 (Set 1 = base classes), 2 (Set 2 = new), 0 (all classes): eval_set, else what was tested."""
    value = _text(meta.get("eval_set")).lower() or _text(meta.get("subsample_classes")).lower()
    return {"set1": 1, "base": 1, "set2": 2, "new": 2, "all": 0, "train": 0, "set1+2": 0}.get(value)


def _own_variant(variant: str, backbone: str, preset: str) -> str:
    """The variant less the names of what other record fields already state."""
    for said in (backbone.lower().replace("-", "_").replace("/", ""), preset if preset != "default" else ""):
        if not said or not variant:
            continue
        if variant == said:
            variant = ""
        elif variant.endswith("_" + said):
            variant = variant[:-len(said) - 1]
        elif variant.startswith(said + "_"):
            variant = variant[len(said) + 1:]
        else:
            variant = variant.replace(f"_{said}_", "_")
    return variant


def describe(exp: ExperimentResult) -> Entry:
    """Classify one experiment from what its records state (nothing from folder names)."""
    meta = exp.metadata
    trainer = meta.get("method")
    dataset = dataset_key(meta.get("dataset")) if meta.get("dataset") else None
    protocol = _text(meta.get("protocol"))
    if not isinstance(trainer, str) or not trainer or dataset is None or not protocol:
        return Entry(exp, None, None, dataset, None)

    shots = _int(meta.get("num_shots"))
    shots = shots if shots is not None and shots > 0 else None
    eval_only = bool(meta.get("eval_only"))
    untrained = bool(meta.get("untrained"))
    subsample = (_text(meta.get("subsample_classes")) or "all").lower()

    loss_terms = label_init = None
    loss, labels = meta.get("loss"), meta.get("labels")
    if isinstance(labels, dict):  # a LAMM trainer: it has label embeddings
        in_force = [t for t, w in loss.items() if w] if isinstance(loss, dict) else []  # a 0 weight is off
        loss_terms = frozenset(in_force) if in_force else ALL_TERMS
        label_init = _text(labels.get("init")).lower() or "word"

    shot_free = trainer in SHOT_FREE_TRAINERS
    backbone, preset = _text(meta.get("backbone")), _text(meta.get("preset")) or "default"
    method = Method(
        trainer=trainer,
        variant=_own_variant(_text(meta.get("variant")), backbone, preset),
        backbone=backbone,
        preset=preset,
        untrained=untrained and not shot_free,
        loss=loss_terms_name(loss_terms) if loss_terms is not None and loss_terms != ALL_TERMS else "",
    )
    source = dataset_key(meta.get("source_dataset")) if meta.get("source_dataset") else None
    stage = eval_set = None
    if protocol == "incremental":
        kind, stage, eval_set = "incremental", _int(meta.get("stage")), _incremental_set(meta)
        if stage is None or eval_set is None:
            kind = None
    elif protocol == "base2new":
        kind = "base2new"
        eval_set = (_text(meta.get("eval_set")) or subsample).lower()
        if eval_set not in ("base", "new"):
            kind = None
    elif protocol == "cross_dataset":
        kind, eval_set = "cross_dataset", dataset
    elif protocol == "dg" or dataset in DG_TARGET_NAMES:
        kind = "dg"
    elif protocol == "fewshot":
        kind = "fewshot" if shots is not None or shot_free else None
        if eval_only and not untrained and not shot_free:  # never averaged with the training runs
            method = replace(method, eval_only=True)
    else:
        kind = None
    if shot_free:
        shots = None
    return Entry(exp, kind, method, dataset, shots, stage, eval_set, subsample, loss_terms, label_init,
                 source, eval_only)


def classify(experiments: Iterable[ExperimentResult]) -> List[Entry]:
    return [describe(e) for e in experiments]


def method_sort_key(m: Method):
    tr = TRAINER_ORDER.index(m.trainer) if m.trainer in TRAINER_ORDER else len(TRAINER_ORDER)
    var = 0 if m.loss == "ce" else 1 if (m.variant, m.loss) == ("", "") else 2
    return (tr, m.trainer, m.untrained, m.eval_only, m.preset != "default", m.preset, var, natural_key(m.loss),
            natural_key(m.variant), backbone_sort_key(m.backbone))


def variant_label(m: Method) -> str:
    """How the paper names the variant: its loss terms for LAMM ablations, else the variant text."""
    if m.variant in VARIANT_LABELS:
        return f"({VARIANT_LABELS[m.variant]})"
    if m.loss == "ce":
        return f"({VARIANT_LABELS['woHL']})"
    if m.loss:
        return f"({m.loss.upper()})"
    return f"[{m.variant}]" if m.variant else ""


def method_labels(methods: Sequence[Method], show: Sequence[str] = ("variant", "backbone")) -> Dict[Method, str]:
    """Paper names ("CoOp+LAMM (w/o HL)"), what is not a default run said, the backbone where needed."""
    labels = {}
    for m in methods:
        name = TRAINER_LABELS.get(m.trainer, m.trainer)
        v = variant_label(m) if "variant" in show else ""
        if v:
            name += f" {v}"
        if m.preset != "default":
            name += f" [{m.preset} preset]"
        if m.untrained:
            name += " (untrained)"
        if m.eval_only:
            name += " (eval-only)"
        labels[m] = name
    if "backbone" in show:
        by_label: Dict[str, List[Method]] = {}
        for m in methods:
            by_label.setdefault(labels[m], []).append(m)
        for same in by_label.values():
            if len({m.backbone for m in same}) > 1:
                for m in same:
                    labels[m] += f" {m.backbone or '?'}"
    for m in methods:  # whatever else sets two rows apart (should not happen): keep them apart
        twins = [x for x in methods if labels[x] == labels[m]]
        if len(twins) > 1:
            for i, x in enumerate(twins):
                labels[x] += f" #{i + 1}"
    return labels



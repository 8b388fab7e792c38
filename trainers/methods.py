"""The method table: every trainer of this project, one row each, read by everything that names a method."""
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Optional, Tuple

TRAINER_CONFIG_DIR = Path(__file__).resolve().parent.parent / "configs" / "trainers"


@dataclass(frozen=True)
class Method:
    """One trainer: what it learns, its configs, where its checkpoints and scripts live, its table row."""

    trainer: str  # the Dassl trainer name (--trainer), also the class name
    module: str  # trainers/<module>.py defines the class (imported by trainers/registered.py)
    label: str  # as the paper names it in its tables
    config_prefix: str  # configs/trainers/<trainer>/<config_prefix>_<K>shots.yaml (few-shot) or <prefix>.yaml
    order: int  # the row order of the result tables (lower first)
    few_shot: bool = True  # False: evaluation only (no shots, one seed)
    learns_context: bool = False  # the prompt's context vectors (CoOp's, MaPLe's)
    learns_labels: bool = False  # LAMM's label embeddings, with the hierarchical loss
    options_node: str = "COOP"  # TRAINER.<node> holds PREC and the method's own options
    checkpoint_folder: str = "prompt_learner"  # the model folder in a run ("" when nothing is saved)
    script_dir: str = ""  # scripts/<script_dir>/, where the method has its own scripts (else scripts/main.sh)

    def config_name(self, shots: Optional[int]) -> str:
        return f"{self.config_prefix}_{shots}shots" if self.few_shot else self.config_prefix

    def config_file(self, shots: Optional[int]) -> Path:
        return TRAINER_CONFIG_DIR / self.trainer / f"{self.config_name(shots)}.yaml"


_MAPLE = dict(config_prefix="vit_b16_c2_ep5_batch4_2ctx", learns_context=True, options_node="MAPLE",
              checkpoint_folder="MultiModalPromptLearner")
_COOP = dict(config_prefix="vit_b16_ep50_ctxv1")
_COCOOP = dict(config_prefix="vit_b16_c4_ep10_batch1_ctxv1", options_node="COCOOP")

# The order of the rows is the order of `--methods all` (runs); ``order`` is the tables' row order.
METHODS: Dict[str, Method] = {m.trainer: m for m in (
    Method("ZeroshotCLIP", "zsclip", "Zero-shot CLIP", "vit_b16", 0, few_shot=False, checkpoint_folder="",
           script_dir="zsclip"),
    Method("CoOp", "coop", "CoOp", order=2, learns_context=True, script_dir="coop", **_COOP),
    Method("LAMM", "lamm", "LAMM", order=1, learns_labels=True, script_dir="lamm", **_COOP),
    Method("CoOpLAMM", "coop", "CoOp+LAMM", order=3, learns_context=True, learns_labels=True,
           script_dir="coop_lamm", **_COOP),
    Method("CoCoOp", "cocoop", "CoCoOp", order=4, learns_context=True, script_dir="cocoop", **_COCOOP),
    Method("CoCoOpLAMM", "cocoop", "CoCoOp+LAMM", order=5, learns_context=True, learns_labels=True,
           script_dir="cocoop_lamm", **_COCOOP),
    Method("MaPLe", "maple", "MaPLe", order=6, script_dir="maple", **_MAPLE),
    Method("MaPLeLAMM", "maple", "MaPLe+LAMM", order=7, learns_labels=True, script_dir="maple_lamm", **_MAPLE),
)}


def table_order() -> Tuple[str, ...]:
    """The trainers in the result tables' row order."""
    return tuple(sorted(METHODS, key=lambda name: METHODS[name].order))


def checkpoint_folders() -> Tuple[str, ...]:
    """Every model folder a run of some method holds (``prompt_learner``, ``MultiModalPromptLearner``)."""
    return tuple(dict.fromkeys(m.checkpoint_folder for m in METHODS.values() if m.checkpoint_folder))


def trainers_saving_to(folder: str) -> Tuple[str, ...]:
    """The trainers whose checkpoints live in ``folder``, by name."""
    return tuple(sorted(m.trainer for m in METHODS.values() if m.checkpoint_folder == folder))


def flags_from_table(cls):
    """Class decorator: a trainer class takes its flags from its row (the row of its class name)."""
    row = METHODS[cls.__name__]
    cls.learn_context = row.learns_context
    cls.learn_labels = row.learns_labels
    cls.trains_nothing = not row.few_shot
    cls.options_node = row.options_node
    if row.checkpoint_folder:
        cls.model_name = row.checkpoint_folder
    return cls

"""One place names runs: the method table, the variants, the protocols, and each run's folder and train.py call.

Scripts (``scripts/**``), sweeps (``tools.sweep``), the smoke run and the result tables go through
this module; nothing else builds a run folder or a train.py argument list.

- ``METHODS``: trainer -> shipped config prefix, few-shot or evaluation only, script folder.
- ``VARIANTS``: named variants of a method (w/o HL, the loss and init ablations, backbones, the
  official preset): overrides and the folder/record name they run under.
- ``PROTOCOLS``: fewshot, dg, incremental, base2new, cross_dataset; each is one function that
  turns (method, datasets, shots, seeds, ...) into ``Run`` objects, eval-only runs included.
- ``Run``: one train.py call; ``run_dir`` is its folder and ``argv()`` its full command, with the
  ``RUN.*`` labels (protocol, variant, stage, evaluated set, source dataset) that results.json
  records, so tables read what a run is from its record, never from its folder name.

The folders of ``scripts/<method>/main.sh DATASET SHOTS [KEY VALUE ...]`` are CoOp's:
``OUTPUT/<dataset>/<TRAINER>/<config>_<K>shots[_<variant>]/seed<S>``.
"""
import os
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence, Tuple

from lamm.errors import LammError
from trainers.record import read_record

REPO_ROOT = Path(__file__).resolve().parent.parent
DATASET_CONFIG_DIR = REPO_ROOT / "configs" / "datasets"
TRAINER_CONFIG_DIR = REPO_ROOT / "configs" / "trainers"
PAPER_SHOTS = (1, 2, 4, 8, 16)
PAPER_SEEDS = (1, 2, 3)
SEED_PREFIX = "seed"
ZERO_SHOT_SEED = 1  # zero-shot CLIP has no randomness: one run, in seed1 like the trained methods
NAME_MAX = 255  # bytes in one path component on Linux and macOS


class RunError(LammError):
    """A run or grid that cannot be built (unknown method, missing config, name too long, ...)."""


# --------------------------------------------------------------------------- methods
@dataclass(frozen=True)
class Method:
    """A trainer, its shipped configs and its script folder (the README's trainer table)."""

    trainer: str
    config_prefix: str  # configs/trainers/<trainer>/<config_prefix>_<K>shots.yaml
    script_dir: str  # scripts/<script_dir>/
    few_shot: bool = True  # False: evaluation only (no shots, one seed)
    lamm: bool = False  # has label embeddings (reads TRAINER.LAMM.UNSEEN_CLASSES, FREEZE_LOADED_LABELS)

    def config_name(self, shots: Optional[int]) -> str:
        return f"{self.config_prefix}_{shots}shots" if self.few_shot else self.config_prefix

    def config_file(self, shots: Optional[int]) -> Path:
        return TRAINER_CONFIG_DIR / self.trainer / f"{self.config_name(shots)}.yaml"


METHODS: Dict[str, Method] = {m.trainer: m for m in (
    Method("ZeroshotCLIP", "vit_b16", "zsclip", few_shot=False),
    Method("CoOp", "vit_b16_ep50_ctxv1", "coop"),
    Method("LAMM", "vit_b16_ep50_ctxv1", "lamm", lamm=True),
    Method("CoOpLAMM", "vit_b16_ep50_ctxv1", "coop_lamm", lamm=True),
    Method("MaPLe", "vit_b16_c2_ep5_batch4_2ctx", "maple"),
    Method("MaPLeLAMM", "vit_b16_c2_ep5_batch4_2ctx", "maple_lamm", lamm=True),
)}


def method(name: str) -> Method:
    """The method of a trainer name, any case."""
    by_lower = {m.lower(): m for m in METHODS}
    if name.lower() not in by_lower:
        raise RunError(f"unknown method {name!r}; known: {', '.join(METHODS)}.")
    return METHODS[by_lower[name.lower()]]


# --------------------------------------------------------------------------- variants
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


def resolve_variants(names: Sequence[str]) -> List[str]:
    """Variant names ("default", a VARIANTS key, a group, or a CLIP backbone name such as ViT-B/16)."""
    aliases = {"ViT-B/16": DEFAULT_VARIANT, **{v.opts[1]: v.name for v in VARIANTS.values()
                                                if v.opts[0] == "MODEL.BACKBONE.NAME"}}
    out: List[str] = []
    for name in names:
        chosen = VARIANT_GROUPS.get(name) or ((aliases.get(name, name),))
        for v in chosen:
            if v != DEFAULT_VARIANT and v not in VARIANTS:
                raise RunError(f"unknown variant {name!r}; known: {DEFAULT_VARIANT}, {', '.join(VARIANTS)}, "
                               f"groups {', '.join(VARIANT_GROUPS)}.")
            if v not in out:
                out.append(v)
    return out or [DEFAULT_VARIANT]


def tag_suffix(opts: Sequence[str], tag: str = "") -> str:
    """The folder-name text of a run's overrides: ``tag`` when given, else the overrides made safe.

    The overrides joined by spaces, every byte other than ``A-Za-z0-9._=-`` turned into '-' and runs
    of '-' squeezed to one (the ``tr`` rule the scripts have always used, so folder names stay).
    """
    if tag:
        return tag
    text = " ".join(opts).encode("utf-8", "surrogateescape")
    text = re.sub(rb"[^A-Za-z0-9._=\n-]", b"-", text)
    text = re.sub(rb"-+", b"-", text)
    return text.decode("utf-8", "surrogateescape").rstrip("\n")


# --------------------------------------------------------------------------- one run
@dataclass(frozen=True)
class Run:
    """One train.py call: a method on a dataset for one seed, within a protocol.

    ``opts`` are the user's overrides (named by ``tag`` or their own text); ``variants`` the named
    variants applied before them; ``protocol_opts`` what the protocol sets (the label space, the
    loaded weights). ``place`` is the run folder's layout around the experiment name: the parts
    before it and after it.
    """

    trainer: str
    dataset: str  # configs/datasets/<dataset>.yaml: what this run trains or is evaluated on
    shots: Optional[int]  # None for evaluation-only methods
    seed: int
    output: str  # absolute output root ($OUTPUT)
    data: str  # absolute dataset root ($DATA)
    opts: Tuple[str, ...] = ()
    tag: str = ""
    python: str = "python"
    variants: Tuple[str, ...] = ()
    protocol: str = "fewshot"
    stage: int = 0
    eval_set: str = ""
    source_dataset: str = ""
    eval_only: bool = False
    model_dir: str = ""  # eval-only: the run whose model is evaluated ("" = the untrained prompts)
    protocol_opts: Tuple[str, ...] = ()
    needs: Tuple[str, ...] = ()  # run folders that must be finished first
    place: Tuple[Tuple[str, ...], Tuple[str, ...]] = field(default=((), ()))
    folder: str = ""  # an explicit run folder instead of the layout (zeroshot.sh's $DIR)

    @property
    def method(self) -> Method:
        return METHODS[self.trainer]

    @property
    def variant(self) -> str:
        """The recorded RUN.VARIANT and folder suffix: named variants, then TAG or the overrides' text."""
        parts = list(self.variants)
        if self.opts:
            parts.append(tag_suffix(self.opts, self.tag))
        return "_".join(parts)

    @property
    def experiment(self) -> str:
        """``<config>_<K>shots[_<variant>]``."""
        name = self.method.config_name(self.shots)
        return f"{name}_{self.variant}" if self.variant else name

    @property
    def name(self) -> str:
        """The run folder relative to the output root, e.g. ``caltech101/LAMM/<experiment>/seed1``."""
        before, after = self.place
        before = before or (self.dataset, self.trainer)  # main.sh's layout
        return "/".join((*before, self.experiment, *after, f"{SEED_PREFIX}{self.seed}"))

    @property
    def run_dir(self) -> str:
        # String concatenation, as the scripts always did, so every caller names the same path.
        return self.folder or f"{self.output}/{self.name}"

    def check_name(self) -> None:
        """A folder name the file system cannot hold is an error that says to name the variant."""
        for part in self.name.split("/"):
            if len(os.fsencode(part)) > NAME_MAX:
                raise RunError(f"the folder name {part[:60]}... is {len(os.fsencode(part))} bytes, more than a "
                               f"file system allows ({NAME_MAX}); name these overrides with TAG=<short name> "
                               f"(scripts) or --tag (tools.sweep).")

    def config_overrides(self) -> List[str]:
        """The KEY VALUE list train.py gets: shots, the protocol's, the variants', the user's, the labels."""
        opts: List[str] = []
        if self.method.few_shot:
            opts += ["DATASET.NUM_SHOTS", str(self.shots)]
        opts += list(self.protocol_opts)
        for name in self.variants:
            opts += list(VARIANTS[name].opts)
        opts += list(self.opts)
        opts += ["RUN.PROTOCOL", self.protocol]
        for key, value in (("VARIANT", self.variant), ("STAGE", self.stage), ("EVAL_SET", self.eval_set),
                           ("SOURCE_DATASET", self.source_dataset)):
            if value:
                opts += [f"RUN.{key}", str(value)]
        return opts

    def argv(self) -> List[str]:
        """The full command, run from the repository root."""
        args = [self.python, "train.py", "--root", self.data, "--seed", str(self.seed), "--trainer", self.trainer,
                "--dataset-config-file", f"configs/datasets/{self.dataset}.yaml",
                "--config-file", str(self.method.config_file(self.shots).relative_to(REPO_ROOT)),
                "--output-dir", self.run_dir]
        if self.eval_only:
            args.append("--eval-only")
            if self.model_dir:
                args += ["--model-dir", self.model_dir]
        return args + self.config_overrides()

    def shell_line(self) -> str:
        """The command as one copyable shell line (logs, --dry-run --verbose)."""
        import shlex

        return " ".join(shlex.quote(a) for a in self.argv())

    def env(self, base: Optional[Dict[str, str]] = None) -> Dict[str, str]:
        """The environment train.py runs with: ``base`` (default os.environ)."""
        return dict(os.environ if base is None else base)

    def finished(self) -> bool:
        return read_record(self.run_dir) is not None


# --------------------------------------------------------------------------- protocols
@dataclass(frozen=True)
class Spec:
    """What one method should run under a protocol (the grid, for one method and one variant)."""

    trainer: str
    datasets: Tuple[str, ...]
    shots: Tuple[int, ...]
    seeds: Tuple[int, ...]
    output: str
    data: str
    opts: Tuple[str, ...] = ()
    tag: str = ""
    python: str = "python"
    variants: Tuple[str, ...] = ()

    @property
    def method(self) -> Method:
        return METHODS[self.trainer]

    def run(self, dataset: str, shots: Optional[int], seed: int, **labels) -> Run:
        if not self.method.few_shot:
            labels["eval_only"] = True  # nothing to train: every run is an evaluation
        return Run(self.trainer, dataset, shots if self.method.few_shot else None,
                   seed if self.method.few_shot else ZERO_SHOT_SEED, self.output, self.data, self.opts, self.tag,
                   self.python, self.variants, **labels)

    def point_seeds(self) -> Tuple[int, ...]:
        return self.seeds if self.method.few_shot else (ZERO_SHOT_SEED,)

    def unseen_init(self) -> Tuple[str, ...]:
        """Classes the loaded model has no label embeddings for keep their word embeddings (LAMM family)."""
        return ("TRAINER.LAMM.UNSEEN_CLASSES", "init") if self.method.lamm else ()


@dataclass(frozen=True)
class Protocol:
    name: str
    title: str
    build: Callable[[Spec], List[Run]]
    default_shots: Tuple[int, ...]
    default_datasets: Callable[[], Tuple[str, ...]]  # what --datasets all means
    datasets_are: str = "datasets"  # what --datasets names: "datasets" or "targets"


def benchmarks() -> Tuple[str, ...]:
    from datasets.catalog import FEWSHOT_BENCHMARKS

    return tuple(FEWSHOT_BENCHMARKS)


def dg_targets() -> Tuple[str, ...]:
    from datasets.catalog import DG_TARGETS

    return tuple(DG_TARGETS)


SOURCE_DATASET = "imagenet"  # dg and cross_dataset train here
TRANSFER_SHOTS = 16


def fewshot(spec: Spec) -> List[Run]:
    """Train and test on each dataset (Fig. 3, Tables 3-5, Fig. 4): the folders of main.sh."""
    shots = spec.shots if spec.method.few_shot else (None,)
    return [spec.run(d, k, s) for d in spec.datasets for k in shots for s in spec.point_seeds()]


def _transfer(spec: Spec, protocol: str, top: str) -> List[Run]:
    """Train on ImageNet (main.sh's run, shared with the few-shot grid), evaluate on each target."""
    runs = []
    k = spec.shots[0] if spec.method.few_shot else None
    for seed in spec.point_seeds():
        source = spec.run(SOURCE_DATASET, k, seed) if spec.method.few_shot else None
        if source is not None:
            runs.append(source)
        for target in spec.datasets:
            runs.append(spec.run(
                target, k, seed, protocol=protocol, eval_set=target,
                source_dataset=SOURCE_DATASET if source else "", eval_only=True,
                model_dir=source.run_dir if source else "", needs=(source.run_dir,) if source else (),
                protocol_opts=spec.unseen_init() if protocol == "cross_dataset" else (),
                place=((top, spec.trainer), (target,))))
    return runs


def dg(spec: Spec) -> List[Run]:
    """Domain generalisation (Table 1): the ImageNet model on ImageNetV2, -Sketch, -A and -R.

    Targets: ``OUTPUT/evaluation/<TRAINER>/<experiment>/<target>/seed<S>``. A and R have 200 of
    ImageNet's classes; the ImageNet model's labels for them are used (matched by wnid).
    """
    return _transfer(spec, "dg", "evaluation")


def cross_dataset(spec: Spec) -> List[Run]:
    """Cross-dataset transfer: the ImageNet model on the other benchmarks; their classes keep
    their word embeddings (LAMM family). ``OUTPUT/cross_dataset/<TRAINER>/<experiment>/<target>/seed<S>``."""
    return _transfer(spec, "cross_dataset", "cross_dataset")


def incremental(spec: Spec) -> List[Run]:
    """Class-incremental (Table 2): Set 1 (base half), then Set 2 (new half) from stage 1's weights.

    ``OUTPUT/incremental/<dataset>/<TRAINER>/<experiment>/<stage>_<set>/seed<S>``: stage1_set1
    (trained and tested on Set 1), stage1_set2 (that model on Set 2), stage2_train (continued on
    Set 2 with both sets in the label space), stage2_set1 and stage2_set2 (that model on each set).
    For the LAMM trainers Set 1's label embeddings stay frozen in stage 2.
    """
    runs = []
    k = spec.shots[0]
    lamm = spec.method.lamm
    for dataset in spec.datasets:
        place = lambda folder: (("incremental", dataset, spec.trainer), (folder,))  # noqa: E731
        for seed in spec.point_seeds():
            if not spec.method.few_shot:  # zero-shot: nothing to train, each set evaluated once
                for subsample, eval_set in (("base", "set1"), ("new", "set2")):
                    runs.append(spec.run(dataset, k, seed, protocol="incremental", stage=1, eval_set=eval_set,
                                         eval_only=True, protocol_opts=("DATASET.SUBSAMPLE_CLASSES", subsample),
                                         place=place(f"stage1_{eval_set}")))
                continue
            stage1 = spec.run(dataset, k, seed, protocol="incremental", stage=1, eval_set="set1",
                              protocol_opts=("DATASET.SUBSAMPLE_CLASSES", "base"), place=place("stage1_set1"))
            stage2 = spec.run(dataset, k, seed, protocol="incremental", stage=2, needs=(stage1.run_dir,),
                              protocol_opts=("DATASET.SUBSAMPLE_CLASSES", "all", "DATASET.TRAIN_CLASSES", "new",
                                             "MODEL.INIT_WEIGHTS", stage1.run_dir,
                                             *(("TRAINER.LAMM.FREEZE_LOADED_LABELS", "True") if lamm else ())),
                              place=place("stage2_train"))
            runs += [stage1, spec.run(dataset, k, seed, protocol="incremental", stage=1, eval_set="set2",
                                      eval_only=True, model_dir=stage1.run_dir, needs=(stage1.run_dir,),
                                      protocol_opts=("DATASET.SUBSAMPLE_CLASSES", "new", *spec.unseen_init()),
                                      place=place("stage1_set2")), stage2]
            for subsample, eval_set in (("base", "set1"), ("new", "set2")):
                runs.append(spec.run(dataset, k, seed, protocol="incremental", stage=2, eval_set=eval_set,
                                     eval_only=True, model_dir=stage2.run_dir, needs=(stage2.run_dir,),
                                     protocol_opts=("DATASET.SUBSAMPLE_CLASSES", subsample),
                                     place=place(f"stage2_{eval_set}")))
    return runs


def base2new(spec: Spec) -> List[Run]:
    """Base-to-new generalisation (CoCoOp): train on the base half at 16 shots, evaluate on base and on new.

    ``OUTPUT/base2new/<dataset>/<TRAINER>/<experiment>/{train_base,test_base,test_new}/seed<S>``;
    the new classes keep their word embeddings (LAMM family), so LAMM's new-class accuracy is
    zero-shot CLIP's with the same template. Zero-shot CLIP has only the two evaluations.
    """
    runs = []
    k = spec.shots[0]
    for dataset in spec.datasets:
        place = lambda folder: (("base2new", dataset, spec.trainer), (folder,))  # noqa: E731
        for seed in spec.point_seeds():
            train = None
            if spec.method.few_shot:
                train = spec.run(dataset, k, seed, protocol="base2new",
                                 protocol_opts=("DATASET.SUBSAMPLE_CLASSES", "base"), place=place("train_base"))
                runs.append(train)
            for subsample in ("base", "new"):
                runs.append(spec.run(
                    dataset, k, seed, protocol="base2new", eval_set=subsample, eval_only=True,
                    model_dir=train.run_dir if train else "", needs=(train.run_dir,) if train else (),
                    protocol_opts=("DATASET.SUBSAMPLE_CLASSES", subsample,
                                   *(spec.unseen_init() if subsample == "new" else ())),
                    place=place(f"test_{subsample}")))
    return runs


PROTOCOLS: Dict[str, Protocol] = {p.name: p for p in (
    Protocol("fewshot", "few-shot classification", fewshot, PAPER_SHOTS, benchmarks),
    Protocol("dg", "domain generalisation from ImageNet", dg, (TRANSFER_SHOTS,), dg_targets, "targets"),
    Protocol("incremental", "class-incremental, two stages", incremental, (TRANSFER_SHOTS,), benchmarks),
    Protocol("base2new", "base-to-new generalisation", base2new, (TRANSFER_SHOTS,), benchmarks),
    Protocol("cross_dataset", "cross-dataset transfer from ImageNet", cross_dataset, (TRANSFER_SHOTS,),
             lambda: tuple(d for d in benchmarks() if d != SOURCE_DATASET), "targets"),
)}


# --------------------------------------------------------------------------- a grid
@dataclass(frozen=True)
class Grid:
    """What to run: methods x variants under one protocol, over datasets, shots and seeds."""

    methods: Tuple[str, ...]
    datasets: Tuple[str, ...] = ("all",)  # names, or "all" (the protocol's datasets or targets)
    shots: Optional[Tuple] = None  # None: the protocol's default
    seeds: Tuple = PAPER_SEEDS
    opts: Tuple[str, ...] = ()
    tag: str = ""
    protocol: str = "fewshot"
    variants: Tuple[str, ...] = (DEFAULT_VARIANT,)
    official: bool = False  # OFFICIAL=1: every run with the official preset, named "official"


def resolve_methods(names: Sequence[str]) -> List[str]:
    """Trainer names (case-insensitive) or "all", in the order given, without repeats."""
    out: List[str] = []
    for name in names:
        if name.lower() == "all":
            chosen = list(METHODS)
        else:
            try:
                chosen = [method(name).trainer]
            except RunError:
                raise RunError(f"unknown method {name!r}; known: {', '.join(METHODS)} (or all).") from None
        out += [m for m in chosen if m not in out]
    if not out:
        raise RunError("no method given (--methods LAMM CoOpLAMM ..., or all).")
    return out


def available_dataset_configs() -> List[str]:
    return sorted(p.stem for p in DATASET_CONFIG_DIR.glob("*.yaml"))


def resolve_datasets(names: Sequence[str], notes: Optional[List[str]] = None,
                     default: Callable[[], Tuple[str, ...]] = benchmarks) -> List[str]:
    """Dataset config names; "all" is every dataset of ``default`` that has a config, read now
    ("benchmarks" the 11 few-shot benchmarks, "dg_targets" ImageNet's shifted test sets).

    A dataset named explicitly must have ``configs/datasets/<name>.yaml``. ``notes`` receives a
    line naming the datasets that "all" left out for lack of a config.
    """
    have = available_dataset_configs()
    lists = {"all": default, "benchmarks": benchmarks, "dg_targets": dg_targets}
    out: List[str] = []
    for name in names:
        if name.lower() in lists:
            wanted = lists[name.lower()]()
            chosen = [d for d in wanted if d in have]
            missing = [d for d in wanted if d not in have]
            if not chosen:
                raise RunError(f"--datasets {name}: none of the benchmark datasets has a config in "
                               f"{DATASET_CONFIG_DIR} (expected {', '.join(wanted)}).")
            if missing and notes is not None:
                notes.append(f"datasets {name} = the {len(chosen)} of {len(wanted)} benchmark datasets "
                             f"with a config; no config yet for: {', '.join(missing)}")
        elif name in have:
            chosen = [name]
        else:
            raise RunError(f"dataset {name!r} has no config: {DATASET_CONFIG_DIR / (name + '.yaml')} not found "
                           f"(available: {', '.join(have) or 'none'}).")
        out += [d for d in chosen if d not in out]
    if not out:
        raise RunError("no dataset given (--datasets caltech101 ..., or all).")
    return out


def positive_ints(values, what: str) -> List[int]:
    out: List[int] = []
    for v in values:
        try:
            number = int(v)
        except (TypeError, ValueError):
            raise RunError(f"{what} must be whole numbers, got {v!r}.") from None
        if number < 1:
            # train.py ignores --seed 0 (random seed), and 0 shots is no few-shot run.
            raise RunError(f"{what} must be 1 or more, got {number}.")
        if number not in out:
            out.append(number)
    if not out:
        raise RunError(f"no {what} given.")
    return out


def _natural_key(text: str):
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", text)]


def expand(grid: Grid, output: str, data: str, python: str = "python", notes: Optional[List[str]] = None) -> List[Run]:
    """Every run of the grid, by method, variant and the protocol's order; checks every config exists.

    A run two protocols share (the ImageNet model of dg and cross_dataset, which is main.sh's run)
    appears once. ``notes`` receives remarks for the user (datasets that "all" left out).
    """
    if grid.protocol not in PROTOCOLS:
        raise RunError(f"unknown protocol {grid.protocol!r}; known: {', '.join(PROTOCOLS)}.")
    protocol = PROTOCOLS[grid.protocol]
    if len(grid.opts) % 2:
        raise RunError(f"config overrides come in KEY VALUE pairs, got: {' '.join(grid.opts)}")
    methods = resolve_methods(grid.methods)
    datasets = resolve_datasets(grid.datasets, notes, protocol.default_datasets)
    shots = positive_ints(grid.shots if grid.shots is not None else protocol.default_shots, "shots")
    seeds = positive_ints(grid.seeds, "seeds")
    variants = resolve_variants(grid.variants)
    output, data = os.path.abspath(output), os.path.abspath(data)
    runs: List[Run] = []
    seen = set()
    for trainer in methods:
        m = METHODS[trainer]
        if m.few_shot:
            for k in shots:
                if not m.config_file(k).is_file():
                    have = sorted((p.name for p in m.config_file(k).parent.glob("*.yaml")), key=_natural_key)
                    raise RunError(f"{trainer} has no config for {k} shots: {m.config_file(k)} not found "
                                   f"(available: {', '.join(have)}).")
        for variant in variants:
            named = tuple(v for v in (variant, "official" if grid.official else "") if v and v != DEFAULT_VARIANT)
            spec = Spec(trainer, tuple(datasets), tuple(shots), tuple(seeds), output, data, tuple(grid.opts),
                        grid.tag, python, tuple(dict.fromkeys(named)))
            for run in protocol.build(spec):
                run.check_name()
                if run.run_dir not in seen:
                    seen.add(run.run_dir)
                    runs.append(run)
    return runs


def stages(runs: Sequence[Run]) -> List[List[Run]]:
    """The runs in waves: each run after every run it needs (a wave runs in parallel)."""
    depth: Dict[str, int] = {}
    by_dir = {r.run_dir: r for r in runs}

    def level(run: Run) -> int:
        if run.run_dir not in depth:
            depth[run.run_dir] = 1 + max((level(by_dir[d]) for d in run.needs if d in by_dir), default=-1)
        return depth[run.run_dir]

    waves: Dict[int, List[Run]] = {}
    for run in runs:
        waves.setdefault(level(run), []).append(run)
    return [waves[i] for i in sorted(waves)]


# --------------------------------------------------------------------------- the scripts' entry
SCRIPT_USAGE = {
    "main": "TRAINER DATASET SHOTS [KEY VALUE ...]",
    "fewshot": "TRAINER [KEY VALUE ...]",
    "base2new": "TRAINER DATASET [KEY VALUE ...]",
    "incremental": "TRAINER DATASET [KEY VALUE ...]",
    "cross_dataset": "TRAINER [KEY VALUE ...]",
    "dg": "TRAINER [KEY VALUE ...]",
    "zeroshot": "DATASET [KEY VALUE ...]",
}


SCRIPT_FLAGS = ("--variant", "--no-download", "--dry-run", "-v")


def _words(env: Dict[str, str], name: str) -> Optional[List[str]]:
    value = env.get(name)
    return value.split() if value is not None else None


def script_argv(argv: Sequence[str], env: Dict[str, str]) -> List[str]:
    """The ``tools.sweep`` arguments of a script call: ``SCRIPT [--variant V ...] ARGS`` and its
    environment (SEEDS, SHOTS, DATASETS, TARGETS, TAG, OFFICIAL, DATA, OUTPUT, PYTHON,
    LAMM_NO_DOWNLOAD), so every script means exactly one sweep call, run in the foreground."""
    argv = list(argv)
    if not argv or argv[0] not in SCRIPT_USAGE:
        raise RunError(f"usage: python -m tools.runs {{{','.join(SCRIPT_USAGE)}}} ...")
    script = argv.pop(0)
    needed = SCRIPT_USAGE[script].split(" [")[0].split()
    flags: List[str] = []
    positional: List[str] = []
    # Flags may come before, between or right after the positional arguments (a wrapper's own
    # arguments come first); the KEY VALUE overrides start at the first other word after them.
    while argv and (argv[0] in SCRIPT_FLAGS or len(positional) < len(needed)):
        word = argv.pop(0)
        if word == "--variant":
            if not argv:
                raise RunError("--variant needs a variant name (tools/runs.py VARIANTS).")
            flags += ["--variants", *argv.pop(0).split()]
        elif word in SCRIPT_FLAGS:
            flags.append(word)
        else:
            positional.append(word)
    if len(positional) < len(needed):
        missing = " ".join(needed[len(positional):])
        raise RunError(f"missing {missing}; usage: {SCRIPT_USAGE[script]} (scripts/<method>/*.sh give TRAINER "
                       f"themselves)")
    given = dict(zip(needed, positional))
    opts = argv
    if len(opts) % 2:
        raise RunError(f"config overrides come in KEY VALUE pairs, got: {' '.join(opts)}")
    protocol = {"main": "fewshot", "zeroshot": "fewshot"}.get(script, script)
    trainer = given.get("TRAINER", "ZeroshotCLIP")
    out = ["--protocol", protocol, "--methods", trainer, "--foreground", *flags]
    if "SHOTS" in given:
        if not re.fullmatch(r"[1-9][0-9]*", given["SHOTS"]):
            raise RunError(f"SHOTS must be a positive number of images per class (1, 2, 4, 8 or 16), "
                           f"got {given['SHOTS']!r}")
        out += ["--shots", given["SHOTS"]]
    elif _words(env, "SHOTS") is not None:
        out += ["--shots", *_words(env, "SHOTS")]
    datasets = [given["DATASET"]] if "DATASET" in given else _words(env, "TARGETS" if protocol in (
        "dg", "cross_dataset") else "DATASETS")
    if datasets is not None:
        out += ["--datasets", *datasets]
    seeds = _words(env, "SEEDS")
    if seeds is not None:
        if not seeds or not all(re.fullmatch(r"[0-9]+", s) and int(s) >= 1 for s in seeds):
            raise RunError(f"SEEDS must be seed numbers of 1 or more (e.g. SEEDS=\"1 2 3\"), got {env['SEEDS']!r}; "
                           f"seed 0 would be an unseeded run.")
        out += ["--seeds", *seeds]
    for key, flag in (("DATA", "--root"), ("OUTPUT", "--output"), ("PYTHON", "--python")):
        if env.get(key):
            out += [flag, env[key]]
    out += ["--tag", env.get("TAG", "")]
    if env.get("OFFICIAL", "") not in ("", "0"):
        out.append("--official")
    if env.get("DIR") and script == "zeroshot":
        out += ["--run-dir", env["DIR"]]
    return out + (["--opts", *opts] if opts else [])


def main(argv=None) -> int:
    """``python -m tools.runs SCRIPT ...``: what scripts/** run (see script_argv)."""
    from tools import sweep

    try:
        sweep_args = script_argv(sys.argv[1:] if argv is None else argv, dict(os.environ))
    except RunError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return sweep.main(sweep_args)


if __name__ == "__main__":
    sys.exit(main())

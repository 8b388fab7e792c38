"""The protocols: what each one runs for a method, as ``Run`` objects in order, eval-only runs included."""
from dataclasses import dataclass
from typing import Callable, Dict, List, Optional, Tuple

from tools.runs.run import Run
from trainers.methods import METHODS, Method

PAPER_SHOTS = (1, 2, 4, 8, 16)
PAPER_SEEDS = (1, 2, 3)
ZERO_SHOT_SEED = 1  # zero-shot CLIP has no randomness: one run, in seed1 like the trained methods


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
        return ("TRAINER.LAMM.UNSEEN_CLASSES", "init") if self.method.learns_labels else ()


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
    """Domain generalisation (Table 1): the ImageNet model on ImageNetV2, -Sketch, -A and -R."""
    return _transfer(spec, "dg", "evaluation")


def cross_dataset(spec: Spec) -> List[Run]:
    """Cross-dataset transfer: the ImageNet model on the other benchmarks; their classes keep their word embeddings."""
    return _transfer(spec, "cross_dataset", "cross_dataset")


def incremental(spec: Spec) -> List[Run]:
    """Class-incremental (Table 2): Set 1 (base half), then Set 2 (new half) from stage 1's weights."""
    runs = []
    k = spec.shots[0]
    lamm = spec.method.learns_labels
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
    """Base-to-new generalisation (CoCoOp): train on the base half at 16 shots, evaluate on base and on new."""
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

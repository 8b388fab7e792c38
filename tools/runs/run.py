"""One run: a train.py call, its folder and its full command, with the labels its record keeps."""
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Tuple

from lamm.errors import LammError
from trainers.record import read_record
from tools.results.collect import SEED_PREFIX
from tools.runs.variants import VARIANTS, tag_suffix
from trainers.methods import METHODS, Method

REPO_ROOT = Path(__file__).resolve().parent.parent.parent
NAME_MAX = 255  # bytes in one path component on Linux and macOS


class RunError(LammError):
    """A run or grid that cannot be built (unknown method, missing config, name too long, ...)."""


@dataclass(frozen=True)
class Run:
    """One train.py call: a method on a dataset for one seed, within a protocol."""

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
                               f"(scripts) or --tag (tools.runs.sweep).")

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

"""Sweep a grid of runs (methods x variants x datasets x shots x seeds) on local GPUs or a cluster."""
import argparse
import os
import re
import signal
import socket
import subprocess
import sys
import time
import warnings
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import replace
from queue import SimpleQueue
from typing import Callable, Dict, List, Optional, Sequence

from lamm.errors import LammError
from lamm.files import atomic_write_json
from datasets.prepare.ensure import ensure_datasets, no_download_from_env
from tools.runs.grid import Grid, expand, stages
from tools.runs.job import ALREADY_FINISHED, FAILED, OUTCOMES, RAN, RUNNING_ELSEWHERE, Outcome, RunJob, stop_active_runs
from tools.runs.protocols import PAPER_SEEDS, PROTOCOLS
from tools.runs.run import REPO_ROOT, Run, RunError
from trainers.run_folder import FINISHED, NOT_STARTED, RUNNING, STATUSES, UNFINISHED, run_status

SWEEPS_DIRNAME = ".sweeps"  # under the output root; hidden, so parse_test_res.py skips it
GRID_KEYS = ("protocol", "methods", "variants", "datasets", "shots", "seeds", "opts", "tag")
SweepError = RunError  # the grid's errors are the run table's
TRANSFER_PROTOCOLS = ("dg", "cross_dataset")  # --datasets names their targets: TARGETS, else DATASETS
# What a script's positional words fill (``--positional``), as its usage names them.
POSITIONAL_NAMES = {"methods": "TRAINER", "datasets": "DATASET", "shots": "SHOTS"}


def load_grid_file(path: str) -> dict:
    """A YAML grid: a mapping with any of GRID_KEYS (scalars or lists; opts as a list or mapping)."""
    import yaml

    try:
        with open(path) as f:
            content = yaml.safe_load(f) or {}
    except OSError as e:
        raise SweepError(f"cannot read grid file {path}: {e.strerror}.") from None
    except yaml.YAMLError as e:
        raise SweepError(f"grid file {path} is not valid YAML: {e}") from None
    if not isinstance(content, dict):
        raise SweepError(f"grid file {path} must be a mapping with keys {', '.join(GRID_KEYS)}.")
    unknown = sorted(set(content) - set(GRID_KEYS))
    if unknown:
        raise SweepError(f"grid file {path}: unknown key(s) {', '.join(unknown)} (known: {', '.join(GRID_KEYS)}).")
    out = {}
    for key, value in content.items():
        if key in ("tag", "protocol"):
            out[key] = "" if value is None else str(value)
        elif key == "opts" and isinstance(value, dict):
            out[key] = [str(x) for pair in value.items() for x in pair]
        else:
            out[key] = [str(x) for x in (value if isinstance(value, list) else [value])]
    return out


def _words(env: Dict[str, str], *names: str) -> Optional[List[str]]:
    """The words of the first of ``names`` set in ``env`` (an empty value is an empty list), or None."""
    for name in names:
        if env.get(name) is not None:
            return env[name].split()
    return None


def _env_seeds(env: Dict[str, str]) -> Optional[List[str]]:
    seeds = _words(env, "SEEDS")
    if seeds is not None and not (seeds and all(s.isdigit() and int(s) >= 1 for s in seeds)):
        raise SweepError(f"SEEDS must be seed numbers of 1 or more (e.g. SEEDS=\"1 2 3\"), got {env['SEEDS']!r}; "
                         f"seed 0 would be an unseeded run.")
    return seeds


def grid_from_args(args, env: Optional[Dict[str, str]] = None) -> Grid:
    """CLI flags win over the grid file, which wins over the environment (``env``: SEEDS, SHOTS, ...)."""
    env = os.environ if env is None else env
    from_file = load_grid_file(args.grid) if args.grid else {}

    def pick(key, default):
        value = getattr(args, key)
        return value if value is not None else from_file.get(key, default)

    methods = pick("methods", None)
    if not methods:
        raise SweepError("no method given: --methods LAMM CoOpLAMM ... (or all), or a --grid file with methods.")
    protocol = pick("protocol", "fewshot")
    datasets = pick("datasets", None)
    if datasets is None:
        datasets = _words(env, *(("TARGETS", "DATASETS") if protocol in TRANSFER_PROTOCOLS else ("DATASETS",)))
    shots = pick("shots", None)
    if shots is None:
        shots = _words(env, "SHOTS")
    seeds = pick("seeds", None)
    if seeds is None:
        seeds = _env_seeds(env)
    return Grid(
        methods=tuple(methods),
        datasets=tuple(["all"] if datasets is None else datasets),
        shots=None if shots is None else tuple(shots),  # None: the protocol's shots
        seeds=tuple(PAPER_SEEDS if seeds is None else seeds),
        opts=tuple(pick("opts", ())),
        tag=pick("tag", env.get("TAG", "")),
        protocol=protocol,
        # A script passes a list in one word (BACKBONES="RN50 ViT-B/16"): split it.
        variants=tuple(w for v in pick("variants", ["default"]) for w in v.split()),
        official=args.official or env.get("OFFICIAL", "") not in ("", "0"),
    )


def _runs(n: int) -> str:
    return f"{n} run" if n == 1 else f"{n} runs"


def print_status(runs: Sequence[Run], statuses: Dict[Run, tuple], verbose: bool = False) -> None:
    counts = {s: sum(1 for r in runs if statuses[r][0] == s) for s in STATUSES}
    output = runs[0].output
    print(f"{_runs(len(runs))} in {output}: " + ", ".join(f"{counts[s]} {s}" for s in STATUSES))
    width = max(len(s) for s in STATUSES)
    for run in runs:
        status, detail = statuses[run]
        print(f"{status:<{width}}  {run.folder or run.name}" + (f"  ({detail})" if detail else ""))
        if verbose:
            print(f"{'':<{width}}    {run.shell_line()}")


def grid_table(runs: Sequence[Run]) -> Optional[str]:
    """parse_test_res.py's table for the experiments of these runs (seeds absent are flagged)."""
    from tools.results.render import render

    from tools.results.collect import aggregate, is_run_dir, natural_key, read_run

    groups: Dict[str, tuple] = {}
    for run in runs:
        records, seeds = groups.setdefault(os.path.dirname(run.run_dir), ([], []))
        seeds.append(run.seed)
        if is_run_dir(run.run_dir):
            records.append(read_run(run.run_dir, run.output))
    experiments = [e for records, seeds in groups.values() if records for e in aggregate(records, seeds)]
    if not experiments:
        return None
    experiments.sort(key=lambda e: natural_key(e.experiment))
    return render(experiments, "table", "accuracy")


def print_outcome(done: int, total: int, outcome: Outcome) -> None:
    label = outcome.status.upper() if outcome.status == FAILED else outcome.status
    line = f"[{done}/{total}] {label:<17} {outcome.run.name}"
    if outcome.status == RAN:
        line += f"  ({outcome.seconds:.0f} s)"
    elif outcome.status == FAILED:
        line += f"  ({outcome.detail}; log: {outcome.log})"
    elif outcome.detail:
        line += f"  ({outcome.detail})"
    print(line, flush=True)


def print_summary(outcomes: Sequence[Outcome]) -> None:
    counts = {s: sum(1 for o in outcomes if o.status == s) for s in OUTCOMES}
    print(f"done: {_runs(len(outcomes))}: " + ", ".join(f"{counts[s]} {s}" for s in OUTCOMES))
    failed = [o for o in outcomes if o.status == FAILED]
    if failed:
        print("failed runs (rerun the same command to resume them):")
        for o in failed:
            print(f"  {o.run.name}: {o.detail}")
            print(f"    log: {o.log}")
            if os.path.isfile(o.run_log):
                print(f"    run log: {o.run_log}")
    elsewhere = [o for o in outcomes if o.status == RUNNING_ELSEWHERE]
    if elsewhere:
        print("running elsewhere (another process holds the run's lock; not run here):")
        for o in elsewhere:
            print(f"  {o.run.name}" + (f": {o.detail}" if o.detail else ""))


def visible_gpus() -> List[str]:
    """GPU ids this process may use: CUDA_VISIBLE_DEVICES when set, else every device torch sees."""
    env = os.environ.get("CUDA_VISIBLE_DEVICES")
    if env is not None:
        ids = []
        for gpu in (x.strip() for x in env.split(",")):
            if not gpu or gpu.startswith("-"):  # CUDA ignores the list from an invalid id on
                break
            ids.append(gpu)
        return ids
    try:
        import torch

        return [str(i) for i in range(torch.cuda.device_count())]
    except Exception:  # no torch, or a broken driver: no GPU
        return []


def pool_slots(gpus: Optional[Sequence[str]], workers: Optional[int]) -> List[str]:
    """CUDA_VISIBLE_DEVICES of each worker: one worker per GPU by default."""
    if workers is not None and workers < 1:
        raise SweepError(f"--workers must be 1 or more, got {workers}.")
    if gpus is None:
        gpus = visible_gpus()
    if list(gpus) in (["none"], ["cpu"]):
        gpus = []
    if not gpus:
        return [""] * (workers or 1)
    return [gpus[i % len(gpus)] for i in range(workers or len(gpus))]


def run_pool(runs: Sequence[Run], log_paths: Dict[Run, str], slots: Sequence[str],
             on_done: Callable[[Outcome], None], job: Callable = None) -> List[Outcome]:
    """Run with len(slots) workers, each run with CUDA_VISIBLE_DEVICES set to a free slot's value."""
    job = job or RunJob()
    free: SimpleQueue = SimpleQueue()
    for slot in slots:
        free.put(slot)

    def work(run: Run) -> Outcome:
        slot = free.get()
        try:
            return job(run, log_paths[run], gpu=slot)
        finally:
            free.put(slot)

    outcomes = []
    with ThreadPoolExecutor(max_workers=len(slots)) as pool:
        futures = {pool.submit(work, run): run for run in runs}
        try:
            for future in as_completed(futures):
                try:
                    outcome = future.result()
                except Exception as e:  # a bug in the job itself: report it like a failed run
                    outcome = Outcome(futures[future], FAILED, log_paths[futures[future]],
                                      detail=f"{type(e).__name__}: {e}")
                outcomes.append(outcome)
                on_done(outcome)
        except BaseException:
            for future in futures:
                future.cancel()
            stopped = stop_active_runs()
            print(f"\ninterrupted: stopped {stopped} run(s); the next launch resumes them", flush=True)
            raise
    return outcomes


def _parse_param(text: str):
    import yaml

    if "=" not in text:
        raise SweepError(f"--param takes KEY=VALUE (e.g. slurm_account=abc), got {text!r}.")
    key, value = text.split("=", 1)
    return key.strip(), yaml.safe_load(value) if value else ""


def submitit_executor(args, folder: str):
    try:
        import submitit
    except ImportError:
        raise SweepError("--submitit needs the submitit package: pip install submitit") from None
    cluster = None if args.submitit == "auto" else args.submitit
    try:
        executor = submitit.AutoExecutor(folder=folder, cluster=cluster)
    except (ValueError, RuntimeError) as e:
        raise SweepError(f"--submitit {args.submitit}: {e}") from None
    params = dict(
        name="lamm-sweep",
        timeout_min=24 * 60 if args.timeout_min is None else args.timeout_min,
        gpus_per_node=1 if args.gpus_per_node is None else args.gpus_per_node,
        cpus_per_task=args.cpus_per_task,
        mem_gb=args.mem_gb,
        slurm_partition=args.partition,
        slurm_array_parallelism=args.array_parallelism,
    )
    params.update(_parse_param(p) for p in args.param or ())
    try:
        executor.update_parameters(**params)
    except (NameError, AssertionError, ValueError) as e:
        raise SweepError(f"submitit rejected the executor parameters: {e}") from None
    return executor


def run_submitit(runs: Sequence[Run], log_paths: Dict[Run, str], executor, wait: bool, poll_s: float,
                 on_done: Callable[[Outcome], None]) -> Optional[List[Outcome]]:
    """Submit every run as one job array (``map_array``), then wait for the jobs unless ``wait`` is False."""
    import submitit

    jobs = executor.map_array(RunJob(), list(runs), [log_paths[r] for r in runs])
    run_of = {id(job): run for job, run in zip(jobs, runs)}
    first, last = jobs[0].job_id, jobs[-1].job_id
    print(f"submitted {len(jobs)} job(s) to submitit's {executor.cluster} executor: "
          f"{first}{'' if first == last else ' .. ' + last}; submitit files in {executor.folder}", flush=True)
    if not wait:
        print("not waiting (--no-wait): the jobs run on; --dry-run shows their progress, and a relaunch "
              "prints the table")
        return None
    outcomes = []
    try:
        for job in submitit.helpers.as_completed(jobs, poll_frequency=poll_s):
            run = run_of[id(job)]
            try:
                outcome = job.result()
            except Exception as e:  # the job itself died (killed, timed out too often, node failure)
                first_line = (str(e).strip().splitlines() or [type(e).__name__])[0]
                outcome = Outcome(run, FAILED, str(job.paths.stderr), detail=f"job {job.job_id}: {first_line}")
            outcomes.append(outcome)
            on_done(outcome)
    except KeyboardInterrupt:
        print(f"\nstopped waiting; the submitted jobs keep running (cancel them with your cluster's tools, "
              f"e.g. scancel {first.split('_')[0]})", flush=True)
        raise
    return outcomes


def prefetch_backbones(runs: Sequence[Run]) -> None:
    """Download the CLIP weights of the grid once, before runs start in parallel."""
    import yaml

    names = set()
    for run in runs:
        overrides = run.config_overrides()
        name = dict(zip(overrides[::2], overrides[1::2])).get("MODEL.BACKBONE.NAME")
        if name is None:
            with open(run.method.config_file(run.shots)) as f:
                name = ((yaml.safe_load(f) or {}).get("MODEL", {}).get("BACKBONE", {}) or {}).get("NAME")
        if name and not os.path.isfile(os.path.expanduser(str(name))):
            names.add(str(name))
    if not names:
        return
    import fcntl

    from lamm.backbones import ensure_backbone
    from lamm.clip_loader import DEFAULT_DOWNLOAD_ROOT

    os.makedirs(DEFAULT_DOWNLOAD_ROOT, exist_ok=True)
    with open(os.path.join(DEFAULT_DOWNLOAD_ROOT, ".sweep-download.lock"), "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # two sweeps starting together download one after the other
        for name in sorted(names):
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", UserWarning)  # clip's pkg_resources deprecation notice
                    path = ensure_backbone(name)
                print(f"CLIP weights for {name}: {path}", flush=True)
            except (OSError, RuntimeError) as e:  # offline, or a bad download: each run tries (and reports) itself
                print(f"warning: could not download the CLIP weights for {name} ({e}); the runs will try",
                      flush=True)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m tools.runs.sweep", description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="example: python -m tools.runs.sweep --methods LAMM --datasets caltech101 --shots 1 2 --dry-run")
    grid = parser.add_argument_group("grid")
    grid.add_argument("--grid", metavar="FILE", help="YAML file with protocol, methods, variants, datasets, shots, "
                      "seeds, opts, tag (flags given on the command line win)")
    grid.add_argument("--protocol", choices=list(PROTOCOLS), default=None,
                      help="fewshot (default), dg, incremental, base2new or cross_dataset (docs/SWEEPS.md)")
    grid.add_argument("--variants", nargs="+", metavar="V", help="named variants (tools/runs/variants.py): "
                      "default, woHL, random_init, ce_wc ..., rn50 ..., or the groups loss, backbones")
    grid.add_argument("--official", action="store_true", help="every run with TRAINER.LAMM.PRESET official "
                      "(variant 'official'; scripts: OFFICIAL=1)")
    grid.add_argument("--methods", nargs="+", metavar="M", help="trainers: ZeroshotCLIP CoOp LAMM CoOpLAMM "
                      "CoCoOp CoCoOpLAMM MaPLe MaPLeLAMM, or all (every row of trainers/methods.py)")
    grid.add_argument("--datasets", nargs="+", metavar="D", help="dataset config names (dg, cross_dataset: the "
                      "targets), or all (default: the protocol's datasets that have a config), benchmarks, "
                      "dg_targets")
    grid.add_argument("--shots", nargs="+", metavar="K", help="default: 1 2 4 8 16 (fewshot), else 16")
    grid.add_argument("--seeds", nargs="+", metavar="S", help="default: 1 2 3")
    grid.add_argument("--tag", default=None, help="folder suffix of runs with --opts (default: $TAG, else the "
                      "overrides), as in the scripts")
    grid.add_argument("--opts", nargs="*", default=None, metavar="KEY VALUE",
                      help="config overrides for every run, in KEY VALUE pairs (values may start with '-')")

    where = parser.add_argument_group("files")
    where.add_argument("--root", default=os.environ.get("DATA", "./data"),
                       help="dataset root (default: $DATA or ./data)")
    where.add_argument("--output", default=os.environ.get("OUTPUT", "./output"),
                       help="output root (default: $OUTPUT or ./output)")
    where.add_argument("--python", default=os.environ.get("PYTHON") or sys.executable,
                       help="interpreter for train.py (default: $PYTHON, else this one)")

    what = parser.add_argument_group("what to do")
    what.add_argument("--dry-run", action="store_true", help="list every run and its status; run nothing")
    what.add_argument("-v", "--verbose", action="store_true", help="with --dry-run: also print each run's command")
    what.add_argument("--no-prefetch", action="store_true", help="do not download the CLIP weights before starting")
    what.add_argument("--no-download", action="store_true", help="do not prepare missing datasets (also: "
                      "LAMM_NO_DOWNLOAD=1); a missing dataset is then an error naming the prepare command")
    what.add_argument("--foreground", action="store_true", help="one run after another in this terminal, "
                      "output shown, stop at the first failure (what the scripts do)")
    what.add_argument("--run-dir", help=argparse.SUPPRESS)  # zeroshot.sh's $DIR: the folder of a one-run grid
    # A script's own words follow ``--``: these positional arguments first, then KEY VALUE overrides.
    what.add_argument("--positional", nargs="*", choices=list(POSITIONAL_NAMES), help=argparse.SUPPRESS)

    local = parser.add_argument_group("local pool (the default)")
    local.add_argument("--gpus", nargs="+", metavar="ID", help="GPU ids to use, or none for the CPU (default: "
                       "$CUDA_VISIBLE_DEVICES, else every GPU torch sees)")
    local.add_argument("--workers", type=int, help="runs at a time (default: one per GPU; 1 without GPUs)")

    remote = parser.add_argument_group("submitit")
    remote.add_argument("--submitit", metavar="CLUSTER", help="submit through submitit instead: slurm, local, "
                        "debug, or auto (slurm when sbatch is found)")
    remote.add_argument("--partition", help="Slurm partition")
    remote.add_argument("--timeout-min", type=int, help="time limit of one run (default: 1440); a run that "
                        "reaches it is requeued and resumes from its checkpoint")
    remote.add_argument("--gpus-per-node", type=int, help="GPUs per run (default: 1)")
    remote.add_argument("--cpus-per-task", type=int, help="CPUs per run (the configs load data with 8 workers)")
    remote.add_argument("--mem-gb", type=float, help="memory per run")
    remote.add_argument("--array-parallelism", type=int, help="at most this many runs of the array at once")
    remote.add_argument("--param", action="append", metavar="KEY=VALUE",
                        help="any other submitit parameter, e.g. slurm_account=abc (repeatable)")
    remote.add_argument("--no-wait", action="store_true", help="submit and exit, without waiting for the table")
    remote.add_argument("--poll-s", type=float, help="seconds between job status checks (default: 1 for the local "
                        "executor, 30 otherwise)")
    return parser


SUBMITIT_ONLY = ("partition", "timeout_min", "gpus_per_node", "cpus_per_task", "mem_gb", "array_parallelism", "param",
                 "no_wait", "poll_s")


def check_executor_flags(args) -> None:
    """Flags of one executor given to the other are mistakes, not something to ignore silently."""
    if args.foreground and (args.submitit or args.workers is not None):
        raise SweepError("--foreground runs one run at a time in this terminal; drop --submitit/--workers.")
    if args.submitit:
        local = [f"--{name}" for name in ("gpus", "workers") if getattr(args, name) is not None]
        if local:
            raise SweepError(f"{' and '.join(local)} set the local pool; with --submitit use --gpus-per-node "
                             f"and --array-parallelism.")
    else:
        remote = [f"--{name.replace('_', '-')}" for name in SUBMITIT_ONLY if getattr(args, name) not in (None, False)]
        if remote:
            raise SweepError(f"{', '.join(remote)}: submitit options; add --submitit (e.g. --submitit slurm).")
        if args.workers is not None and args.workers < 1:
            raise SweepError(f"--workers must be 1 or more, got {args.workers}.")


def _raise_keyboard_interrupt(signum, frame):
    raise KeyboardInterrupt


def split_opts(argv: Sequence[str], parser: argparse.ArgumentParser):
    """(the other arguments, the overrides after ``--opts`` or None), read in pairs."""
    flags = {s for action in parser._actions for s in action.option_strings}
    rest: List[str] = []
    opts: Optional[List[str]] = None
    i = 0
    while i < len(argv):
        if argv[i] != "--opts":
            rest.append(argv[i])
            i += 1
            continue
        opts = [] if opts is None else opts
        i += 1
        while i < len(argv) and argv[i].split("=", 1)[0] not in flags:
            opts += argv[i:i + 2]
            i += 2
    return rest, opts


def read_script_words(args, words: Sequence[str]) -> None:
    """A script's own command line (the words after ``--``) into ``args``: the ``--positional`` arguments in order."""
    needed = list(args.positional)
    usage = " ".join(POSITIONAL_NAMES[n] for n in needed) + " [KEY VALUE ...]"
    words = list(words)
    given: List[str] = []
    while words and (words[0] in ("--dry-run", "-v", "--no-download", "--variant") or len(given) < len(needed)):
        word = words.pop(0)
        if word == "--variant":
            if not words:
                raise SweepError("--variant needs a variant name (tools/runs/variants.py).")
            args.variants = words.pop(0).split()
        elif word == "--dry-run":
            args.dry_run = True
        elif word == "-v":
            args.verbose = True
        elif word == "--no-download":
            args.no_download = True
        else:
            given.append(word)
    if len(given) < len(needed):
        missing = " ".join(POSITIONAL_NAMES[n] for n in needed[len(given):])
        hint = "" if "methods" in needed else " (scripts/<method>/*.sh give TRAINER themselves)"
        raise SweepError(f"missing {missing}; usage: {usage}{hint}")
    for name, value in zip(needed, given):
        if name == "shots" and not re.fullmatch(r"[1-9][0-9]*", value):
            raise SweepError(f"SHOTS must be a positive number of images per class (1, 2, 4, 8 or 16), got {value!r}")
        setattr(args, name, [value])
    if len(words) % 2:
        raise SweepError(f"config overrides come in KEY VALUE pairs, got: {' '.join(words)}")
    if words:
        args.opts = (args.opts or []) + words


def parse_args(argv=None):
    """The sweep's arguments; with ``--positional``, the words after the first ``--`` are a script's own."""
    argv = list(sys.argv[1:] if argv is None else argv)
    words = None
    if "--" in argv and "--positional" in argv[:argv.index("--")]:
        words, argv = argv[argv.index("--") + 1:], argv[:argv.index("--")]
    parser = build_parser()
    rest, opts = split_opts(argv, parser)
    args = parser.parse_args(rest)
    args.opts = opts
    if args.positional is not None:
        read_script_words(args, words or [])
    return args


def _quiet_closed_stdout() -> int:
    """The reader of our output is gone (``| head``): stop quietly, as a shell tool does (exit 141, SIGPIPE's)."""
    # merge: the shared BrokenPipe-safe wrapper (h19b) may replace this.
    os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return 128 + signal.SIGPIPE


def main(argv=None) -> int:
    try:
        code = sweep(parse_args(argv))
        sys.stdout.flush()  # a closed pipe shows here, not as a traceback at exit
        return code
    except BrokenPipeError:
        return _quiet_closed_stdout()
    except LammError as e:  # SweepError, or a backbone name that CLIP does not know
        print(f"error: {e}", file=sys.stderr)
        return 2
    except OSError as e:  # a folder that cannot be written, found while launching
        print(f"error: {e.strerror or e}{f': {e.filename}' if e.filename else ''}.", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


def launch(args, todo: Sequence[Run], output: str) -> Optional[List[Outcome]]:
    """Run ``todo`` with the chosen executor, wave after wave (a run after the runs it needs); their outcomes."""
    waves = stages(todo)
    if args.submitit and args.no_wait and len(waves) > 1:
        raise SweepError(f"these runs come in {len(waves)} stages, each needing the one before (an evaluation "
                         f"needs its trained model); --no-wait cannot submit them: drop --no-wait.")
    launch_dir = os.path.join(output, SWEEPS_DIRNAME,
                              f"{time.strftime('%Y%m%d-%H%M%S')}-{socket.gethostname()}-{os.getpid()}")
    log_paths = {r: os.path.join(launch_dir, "logs", r.name + ".log") for r in todo}
    record = {"argv": sys.argv, "cwd": os.getcwd(), "runs": [r.name for r in todo]}
    atomic_write_json(os.path.join(launch_dir, "sweep.json"), record)
    print(f"logs of this launch: {launch_dir}/logs", flush=True)
    # Jobs import tools.runs.job; make the repository importable wherever they start.
    os.environ["PYTHONPATH"] = os.pathsep.join([str(REPO_ROOT)] + [
        p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p and p != str(REPO_ROOT)])
    if not args.no_prefetch:
        prefetch_backbones(todo)
    signal.signal(signal.SIGTERM, _raise_keyboard_interrupt)  # stop our runs on scancel/kill too
    done = [0]

    def on_done(outcome: Outcome) -> None:
        done[0] += 1
        print_outcome(done[0], len(todo), outcome)

    outcomes: List[Outcome] = []
    executor = submitit_executor(args, os.path.join(launch_dir, "submitit")) if args.submitit else None
    for wave in waves:
        if executor is not None:
            poll_s = args.poll_s or (1.0 if executor.cluster in ("local", "debug") else 30.0)
            got = run_submitit(wave, log_paths, executor, not args.no_wait, poll_s, on_done)
            if got is None:
                return None
        else:
            slots = pool_slots(args.gpus, args.workers)
            gpus = sorted(set(slots), key=slots.index)
            where = f"on GPU(s) {','.join(gpus)}" if gpus != [""] else "on the CPU"
            print(f"running {_runs(len(wave))}, {len(slots)} at a time, {where}", flush=True)
            got = run_pool(wave, log_paths, slots, on_done)
        outcomes += got
    record["outcomes"] = {o.run.name: {"status": o.status, "detail": o.detail, "log": o.log} for o in outcomes}
    atomic_write_json(os.path.join(launch_dir, "sweep.json"), record)
    return outcomes


def check_folders(paths: Sequence[str], writing: bool) -> None:
    """Each path is a folder or can become one (no file in the way); and writable when ``writing``."""
    seen = set()
    for path in paths:
        existing = os.path.abspath(path)
        while not os.path.exists(existing):
            existing = os.path.dirname(existing)
        if existing in seen:
            continue
        seen.add(existing)
        if not os.path.isdir(existing):
            inside = "" if existing == os.path.abspath(path) else f", so {path} cannot be made in it"
            raise SweepError(f"{existing} is a file, not a folder{inside}: choose another output folder (--output, "
                             f"or OUTPUT= for the scripts).")
        if writing and not os.access(existing, os.W_OK | os.X_OK):
            raise SweepError(f"cannot write in {existing} (permission denied), where {path} goes: choose an output "
                             f"folder you can write (--output, or OUTPUT= for the scripts), or fix its permissions.")


def run_foreground(runs: Sequence[Run]) -> int:
    """The scripts' way: each run in turn, train.py's output on this terminal; stop at a failure."""
    for run in runs:
        if run.finished():
            print(f"Results are available in {run.run_dir} (skip)", flush=True)
            continue
        print(f"{'Resuming' if os.path.isdir(run.run_dir) else 'Running'} {run.run_dir}", flush=True)
        code = subprocess.call(run.argv(), cwd=REPO_ROOT)
        if code != 0:
            return code
    return 0


def sweep(args) -> int:
    notes: List[str] = []
    check_executor_flags(args)
    grid = grid_from_args(args)
    runs = expand(grid, args.output, args.root, args.python, notes)
    if args.run_dir:
        if len(runs) != 1:
            raise SweepError(f"DIR/--run-dir names the folder of one run; this grid has {_runs(len(runs))}.")
        runs = [replace(runs[0], folder=args.run_dir)]
    for note in notes:
        print(f"note: {note}")
    check_folders([runs[0].output] + [r.run_dir for r in runs], writing=False)
    statuses = {run: run_status(run.run_dir) for run in runs}
    if args.dry_run:
        print_status(runs, statuses, args.verbose)
        return 0

    todo = [r for r in runs if statuses[r][0] in (UNFINISHED, NOT_STARTED)]
    if todo:  # the launch's own files go under the output root; each run under its folder
        check_folders([runs[0].output] + [r.run_dir for r in todo], writing=True)
    # Before anything heavy: every dataset a run still needs is there, or prepared now, or an error.
    ensure_datasets([r.dataset for r in todo], os.path.abspath(args.root),
                    download=not (args.no_download or no_download_from_env()))
    if args.foreground:
        return run_foreground(runs)
    skipped = [Outcome(r, ALREADY_FINISHED) for r in runs if statuses[r][0] == FINISHED]
    skipped += [Outcome(r, RUNNING_ELSEWHERE, detail=statuses[r][1]) for r in runs if statuses[r][0] == RUNNING]
    resumed = sum(1 for r in todo if statuses[r][0] == UNFINISHED)
    print(f"sweep: {_runs(len(runs))} in {runs[0].output}: {len(todo)} to run ({resumed} resumed), "
          f"{sum(o.status == ALREADY_FINISHED for o in skipped)} already finished, "
          f"{sum(o.status == RUNNING_ELSEWHERE for o in skipped)} running elsewhere", flush=True)

    outcomes = launch(args, todo, runs[0].output) if todo else []
    if outcomes is None:  # submitted without waiting
        return 0

    outcomes = skipped + outcomes
    order = {run: i for i, run in enumerate(runs)}
    outcomes.sort(key=lambda o: order[o.run])
    print_summary(outcomes)
    table = grid_table(runs)
    if table:
        print(table)
    return 1 if any(o.status == FAILED for o in outcomes) else 0


if __name__ == "__main__":
    sys.exit(main())

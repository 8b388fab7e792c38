"""Train and evaluate prompt learners on CLIP with Dassl: the CoOp command line, unchanged."""
import argparse
import errno
import os
import os.path as osp
import sys

import lamm  # noqa: F401  (first: lamm.startup keeps Dassl's imports off the network)
from lamm.errors import ConfigError, LammError
from trainers import run_folder
from trainers.run_folder import RunLock, check_output_dir, write_run_files
from trainers.terminal import TerminalFilter, run_block, verbose_from_env

SEED_RANGE = (0, 2**32 - 1)  # what NumPy's seed accepts


def collect_env_info() -> str:
    from dassl.utils import collect_env_info as dassl_env_info

    return dassl_env_info()  # about a second: it asks pip and the drivers


def print_args(args, cfg):
    print("***************")
    print("** Arguments **")
    print("***************")
    for key in sorted(args.__dict__):
        print(f"{key}: {args.__dict__[key]}")
    print("************")
    print("** Config **")
    print("************")
    print(cfg)


def reset_cfg(cfg, args):
    """Command-line flags override the config files, as in CoOp (whose ``if args.seed`` dropped 0)."""
    if args.root:
        cfg.DATASET.ROOT = args.root
    if args.output_dir:
        cfg.OUTPUT_DIR = args.output_dir
    if args.resume:
        cfg.RESUME = args.resume
    if args.seed is not None:
        cfg.SEED = args.seed
    if args.source_domains:
        cfg.DATASET.SOURCE_DOMAINS = args.source_domains
    if args.target_domains:
        cfg.DATASET.TARGET_DOMAINS = args.target_domains
    if args.transforms:
        cfg.INPUT.TRANSFORMS = args.transforms
    if args.trainer:
        cfg.TRAINER.NAME = args.trainer
    if args.backbone:
        cfg.MODEL.BACKBONE.NAME = args.backbone
    if args.head:
        cfg.MODEL.HEAD.NAME = args.head


def fit_to_machine(cfg):
    """No more data-loader workers than the CPUs this process may use: more only slow the run down."""
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    cfg.DATALOADER.NUM_WORKERS = min(cfg.DATALOADER.NUM_WORKERS, cpus)


def register_project():
    """Dassl's registries with this project's dataset readers and trainers (imports torch and Dassl)."""
    import datasets.readers  # noqa: F401
    import trainers.registered  # noqa: F401


def setup_cfg(args):
    from dassl.config import get_cfg_default

    from trainers.config import extend_cfg
    from trainers.config import check_config_file, check_known_names, check_registered, check_values, merge_checked
    from lamm.preprocess import apply_model_preprocessing
    from trainers.presets import apply_preset

    cfg = get_cfg_default()
    extend_cfg(cfg)
    for path in (args.dataset_config_file, args.config_file):
        if path:
            check_config_file(path)
            merge_checked(cfg, path)
    reset_cfg(cfg, args)
    merge_checked(cfg, args.opts)
    apply_preset(cfg, args.opts)
    check_known_names(cfg)
    apply_model_preprocessing(cfg, args.opts)  # an open_clip model's size, mean, std (lamm/preprocess.py)
    check_values(cfg)
    fit_to_machine(cfg)
    register_project()
    check_registered(cfg)
    cfg.freeze()
    return cfg


def check_run_folder(cfg, args=None) -> None:
    """A rerun continues the same experiment, or says what differs and how to keep both."""
    from trainers.config import config_dict

    run_folder.check_rerun(cfg.OUTPUT_DIR, config_dict(cfg), eval_only=bool(getattr(args, "eval_only", False)),
                           restart=bool(getattr(args, "restart", False)))


def clear_run_folder(folder: str) -> None:
    """--restart: delete what an earlier run left in ``folder`` (files this project writes only)."""
    removed = run_folder.clear_run_folder(folder)
    if removed:
        print(f"--restart: removed {', '.join(removed)} from {folder}")


def check_eval_flags(eval_only: bool, model_dir: str, load_epoch) -> None:
    """--model-dir and --load-epoch mean something only together with --eval-only (CoOp ignored them)."""
    if not eval_only and (model_dir or load_epoch is not None):
        raise ConfigError("--model-dir and --load-epoch choose what an --eval-only run evaluates; add --eval-only. "
                          "(A training run continues from its own --output-dir: rerun the same command.)")
    if load_epoch is not None and not model_dir:
        raise ConfigError(f"--load-epoch {load_epoch} needs --model-dir, the training run whose checkpoint to evaluate.")


def preflight(cfg, args=None) -> None:
    """Every check that needs no data, no model and no run folder; nothing is written before it passes."""
    from dassl.engine import TRAINER_REGISTRY

    from datasets.prepare.preflight import check_dataset_ready
    from lamm.backbones import ensure_backbone
    from trainers.checkpoints import check_model_dir

    check_output_dir(cfg.OUTPUT_DIR)
    if cfg.RESUME and not osp.isdir(cfg.RESUME):
        what = "is a file, not a folder" if osp.exists(cfg.RESUME) else "does not exist"
        raise ConfigError(f"--resume {cfg.RESUME} {what} (it is the folder of the run to continue).")
    trainer_class = TRAINER_REGISTRY.get(cfg.TRAINER.NAME)
    eval_only = bool(getattr(args, "eval_only", False))
    model_dir, load_epoch = getattr(args, "model_dir", ""), getattr(args, "load_epoch", None)
    check_eval_flags(eval_only, model_dir, load_epoch)
    if getattr(trainer_class, "trains_nothing", False) and not eval_only and not getattr(args, "no_train", False):
        raise ConfigError(f"{cfg.TRAINER.NAME} has nothing to train; run it with --eval-only.")
    model_name = getattr(trainer_class, "model_name", None)
    if eval_only and model_dir and model_name:
        check_model_dir(model_dir, model_name, load_epoch)
    check_run_folder(cfg, args)
    # Data and weights last: the dataset check is quick, the backbone may be downloaded once.
    check_dataset_ready(cfg.DATASET.NAME, cfg.DATASET.ROOT)
    ensure_backbone(cfg.MODEL.BACKBONE.NAME)


def main(args):
    verbose = args.verbose or verbose_from_env()
    cfg = setup_cfg(args)
    preflight(cfg, args)
    with RunLock(cfg.OUTPUT_DIR):
        check_run_folder(cfg, args)  # again, now that no other process can write the folder
        if args.restart:
            clear_run_folder(cfg.OUTPUT_DIR)
        run(cfg, args, verbose)


def run(cfg, args, verbose=True):
    import torch
    from dassl.engine import TRAINER_REGISTRY, build_trainer
    from dassl.utils import set_random_seed, setup_logger

    terminal = sys.stdout = TerminalFilter(sys.stdout, verbose)  # under Dassl's Logger: log.txt gets every line
    if cfg.SEED >= 0:
        print(f"Setting fixed seed: {cfg.SEED}")
        set_random_seed(cfg.SEED)
    setup_logger(cfg.OUTPUT_DIR)
    use_cuda = torch.cuda.is_available() and cfg.USE_CUDA
    if use_cuda:
        torch.backends.cudnn.benchmark = True
    print(run_block(cfg, args, TRAINER_REGISTRY.get(cfg.TRAINER.NAME), "cuda" if use_cuda else "cpu", verbose))
    with terminal.log_only():
        print_args(args, cfg)
        print("Collecting env info ...")
        env_info = collect_env_info()
        print(f"** System info **\n{env_info}\n")
    write_run_files(cfg.OUTPUT_DIR, cfg.dump(), env_info, args.eval_only)

    trainer = build_trainer(cfg)
    if hasattr(trainer, "set_run_args"):
        trainer.set_run_args(args.eval_only, args.model_dir, args.opts)
    if args.eval_only:
        trainer.load_model(args.model_dir, epoch=args.load_epoch)
        trainer.test()
        return
    if not args.no_train:
        trainer.train()


def epoch_value(text: str) -> int:
    """--load-epoch: an epoch a checkpoint was saved at (1 or more)."""
    try:
        epoch = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if epoch < 1:
        raise argparse.ArgumentTypeError(f"{epoch}: epochs count from 1")
    return epoch


def seed_value(text: str) -> int:
    """--seed: a fixed seed (0 included), or -1 for none."""
    try:
        seed = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if seed != -1 and not SEED_RANGE[0] <= seed <= SEED_RANGE[1]:
        raise argparse.ArgumentTypeError(f"{seed} is out of range: give 0 to {SEED_RANGE[1]}, or -1 for no fixed seed")
    return seed


def build_parser():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=str, default="", help="path to dataset")
    parser.add_argument("--output-dir", type=str, default="", help="output directory")
    parser.add_argument("--resume", type=str, default="", help="checkpoint directory (from which the training resumes)")
    parser.add_argument("--seed", type=seed_value, default=-1, help="a fixed seed (0 or more); -1: none")
    parser.add_argument("--source-domains", type=str, nargs="+", help="source domains for DA/DG")
    parser.add_argument("--target-domains", type=str, nargs="+", help="target domains for DA/DG")
    parser.add_argument("--transforms", type=str, nargs="+", help="data augmentation methods")
    parser.add_argument("--config-file", type=str, default="", help="path to config file")
    parser.add_argument("--dataset-config-file", type=str, default="", help="path to config file for dataset setup")
    parser.add_argument("--trainer", type=str, default="", help="name of trainer")
    parser.add_argument("--backbone", type=str, default="", help="name of CNN backbone")
    parser.add_argument("--head", type=str, default="", help="name of head")
    parser.add_argument("--eval-only", action="store_true", help="evaluation only")
    parser.add_argument("--model-dir", type=str, default="", help="load model from this directory for eval-only mode")
    parser.add_argument("--load-epoch", type=epoch_value, help="load model weights at this epoch for evaluation")
    parser.add_argument("--no-train", action="store_true", help="do not call trainer.train()")
    parser.add_argument("--restart", action="store_true",
                        help="start the run folder afresh: delete the checkpoints, results and logs an earlier run "
                             "(of this or another config) left there")
    parser.add_argument("--verbose", action="store_true",
                        help="also show the arguments, the full config and the environment on the terminal (they "
                             "are always in the run folder's config.yaml, env.txt and log.txt); also LAMM_VERBOSE=1")
    parser.add_argument("opts", default=None, nargs=argparse.REMAINDER, help="modify config options using the command-line")
    return parser


def os_error_line(error: OSError, output_dir: str):
    """One ``error:`` line for a file-system refusal that is the user's to fix, else None (a bug)."""
    if error.errno == errno.ENAMETOOLONG:
        return (f"{error.strerror}: {error.filename}. Use a shorter --output-dir, or set TAG for the scripts (they "
                "name a run folder after its overrides otherwise).")
    if error.errno in (errno.EACCES, errno.EPERM, errno.EROFS, errno.ENOSPC, errno.EDQUOT):
        where = f"--output-dir {output_dir}" if output_dir else "the output folder"
        return (f"{error.strerror}: {error.filename}. Check that {where} and the files there can be written "
                "(another folder: --output-dir; the scripts: OUTPUT=<folder>).")
    return None


def cli(argv=None) -> None:
    """train.py's command line: bad input is one ``error:`` line and exit status 2."""
    args = build_parser().parse_args(argv)
    try:
        main(args)
    except LammError as error:
        # Bad input: one clear message, no traceback (bugs keep theirs).
        message = str(error)
        if "Original Traceback" in message:  # re-raised from a data-loader worker: keep our line
            message = message.strip().splitlines()[-1].split(": ", 1)[-1]
        print(f"error: {message}", file=sys.stderr)
        sys.exit(2)
    except ModuleNotFoundError as error:
        if (error.name or "").split(".")[0] != "dassl":
            raise
        print("error: Dassl is not installed in this environment (bash install.sh installs it; "
              f"{sys.executable} is the interpreter that ran this).", file=sys.stderr)
        sys.exit(2)
    except OSError as error:  # after LammError: some of those are FileNotFoundErrors
        line = os_error_line(error, args.output_dir)
        if line is None:
            raise
        print(f"error: {line}", file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    cli()

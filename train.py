"""Train and evaluate prompt learners on CLIP with Dassl: the CoOp command line, unchanged.

    python train.py --root DATA --seed 1 --trainer LAMM \
        --dataset-config-file configs/datasets/caltech101.yaml \
        --config-file configs/trainers/LAMM/vit_b16_ep50_ctxv1_16shots.yaml \
        --output-dir output/caltech101/LAMM/vit_b16_ep50_ctxv1_16shots/seed1
"""
import argparse
import errno
import os
import os.path as osp
import shutil
import sys

import lamm  # noqa: F401  (first: it silences pkg_resources notices that Dassl's imports would print)
import torch
import yaml
from dassl.config import get_cfg_default
from dassl.engine import TRAINER_REGISTRY, build_trainer
from dassl.utils import collect_env_info, set_random_seed, setup_logger

import datasets.readers  # noqa: F401  (registers the readers)
import trainers  # noqa: F401  (registers the trainers)
from datasets.preflight import check_dataset_ready
from lamm.clip_loader import ensure_backbone
from lamm.preprocess import apply_model_preprocessing
from lamm.errors import ConfigError, LammError
from lamm.files import RunLock, atomic_write_text
from lamm.run_record import NOT_IN_FINGERPRINT, RECORD_FILE, config_differences, describe_differences, read_record
from trainers.checkpoints import check_model_dir, model_folders_in
from trainers.config import config_dict, extend_cfg
from trainers.config_checks import check_config_file, check_registered, check_values, merge_checked
from trainers.presets import apply_preset

CONFIG_FILE = "config.yaml"
# The first line of config.yaml says which kind of run wrote the folder.
RUN_KINDS = {"training": "# train.py run: training\n", "eval-only": "# train.py run: eval-only\n"}
# A rerun of a folder may change where files are and how fast they are read, not what is computed.
RERUN_MAY_CHANGE = tuple(key for key in NOT_IN_FINGERPRINT if key != "SEED")


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
    """Command-line flags override the config files, as in CoOp."""
    if args.root:
        cfg.DATASET.ROOT = args.root
    if args.output_dir:
        cfg.OUTPUT_DIR = args.output_dir
    if args.resume:
        cfg.RESUME = args.resume
    if args.seed:
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


def setup_cfg(args):
    cfg = get_cfg_default()
    extend_cfg(cfg)
    for path in (args.dataset_config_file, args.config_file):
        if path:
            check_config_file(path)
            merge_checked(cfg, path)
    reset_cfg(cfg, args)
    merge_checked(cfg, args.opts)
    apply_preset(cfg, args.opts)
    apply_model_preprocessing(cfg, args.opts)  # an open_clip model's size, mean, std (lamm/preprocess.py)
    check_registered(cfg)
    check_values(cfg)
    cfg.freeze()
    return cfg


def check_output_dir(path: str) -> None:
    """An output folder the file system can create: no name longer than it allows (Errno 36)."""
    full = osp.abspath(path)
    if osp.exists(full) and not osp.isdir(full):
        raise ConfigError(f"--output-dir {path} is a file, not a folder.")
    existing = full
    while not osp.isdir(existing):
        existing = osp.dirname(existing)
    try:
        name_max, path_max = os.pathconf(existing, "PC_NAME_MAX"), os.pathconf(existing, "PC_PATH_MAX")
    except (OSError, ValueError):
        name_max, path_max = 255, 4096
    hint = ("Use a shorter --output-dir; the scripts name a run folder after its KEY VALUE overrides "
            "unless TAG is set (TAG=<short name>).")
    for part in full.split(os.sep):
        if len(part.encode()) > name_max:
            raise ConfigError(f"--output-dir: the folder name {part[:48]}... is {len(part.encode())} bytes, "
                              f"more than the file system allows ({name_max}). {hint}")
    if len(full.encode()) >= path_max:
        raise ConfigError(f"--output-dir is {len(full.encode())} bytes long, more than the file system allows "
                          f"({path_max}). {hint}")


def existing_run_kind(folder: str):
    """"training", "eval-only" or None (no run of this project there yet)."""
    try:
        with open(osp.join(folder, CONFIG_FILE)) as handle:
            first = handle.readline()
    except OSError:
        first = ""
    for kind, header in RUN_KINDS.items():
        if first == header:
            return kind
    record = read_record(folder)
    if record is not None and "eval_only" in record:
        return "eval-only" if record["eval_only"] else "training"
    return "training" if model_folders_in(folder) else None


def check_run_folder(cfg, args=None) -> None:
    """A rerun continues the same experiment, or says what differs and how to keep both."""
    folder = cfg.OUTPUT_DIR
    if not osp.isdir(folder):
        return
    eval_only, restart = bool(getattr(args, "eval_only", False)), bool(getattr(args, "restart", False))
    kind = existing_run_kind(folder)
    if eval_only and kind == "training":
        suggestion = osp.join(osp.dirname(osp.normpath(folder)), "eval", osp.basename(osp.normpath(folder)))
        raise ConfigError(
            f"{folder} holds a training run; an eval-only run never writes into one (it would replace its "
            f"config.yaml and results.json). Give the evaluation its own folder, e.g. --output-dir {suggestion}"
        )
    ways_out = ("To keep both, use another --output-dir (the scripts: TAG=<name>); to replace it, add --restart "
                "(deletes its checkpoints, results and logs).")
    if not eval_only and kind == "eval-only" and not restart:
        raise ConfigError(f"{folder} holds an eval-only run, not a training run. {ways_out}")
    config_path = osp.join(folder, CONFIG_FILE)
    if not osp.isfile(config_path) or restart:
        return
    try:
        with open(config_path) as handle:
            old = yaml.safe_load(handle)
    except (OSError, yaml.YAMLError) as error:
        raise ConfigError(f"{config_path} cannot be read ({error}); cannot tell which run this is. {ways_out}") from None
    differences = config_differences(old if isinstance(old, dict) else {}, config_dict(cfg), ignore=RERUN_MAY_CHANGE)
    if differences:
        raise ConfigError(f"{folder} holds a run of another config ({describe_differences(differences)}). {ways_out}")


def clear_run_folder(folder: str) -> None:
    """--restart: delete what an earlier run left in ``folder`` (files this project writes only)."""
    removed = []
    for name in sorted(os.listdir(folder)) if osp.isdir(folder) else []:
        path = osp.join(folder, name)
        if name in (CONFIG_FILE, "env.txt", RECORD_FILE) or name.startswith("log.txt"):
            os.remove(path)
        elif name == "tensorboard" or name in model_folders_in(folder):
            shutil.rmtree(path)
        else:
            continue
        removed.append(name)
    if removed:
        print(f"--restart: removed {', '.join(removed)} from {folder}")


def preflight(cfg, args=None) -> None:
    """Every check that needs no data, no model and no run folder; nothing is written before it passes."""
    check_output_dir(cfg.OUTPUT_DIR)
    if cfg.RESUME and not osp.isdir(cfg.RESUME):
        raise ConfigError(f"--resume {cfg.RESUME} does not exist (it is the folder of the run to continue).")
    trainer_class = TRAINER_REGISTRY.get(cfg.TRAINER.NAME)
    eval_only = bool(getattr(args, "eval_only", False))
    if getattr(trainer_class, "trains_nothing", False) and not eval_only and not getattr(args, "no_train", False):
        raise ConfigError(f"{cfg.TRAINER.NAME} has nothing to train; run it with --eval-only.")
    model_name = getattr(trainer_class, "model_name", None)
    if eval_only and getattr(args, "model_dir", "") and model_name:
        check_model_dir(args.model_dir, model_name, args.load_epoch)
    check_run_folder(cfg, args)
    # Data and weights last: the dataset check is quick, the backbone may be downloaded once.
    check_dataset_ready(cfg.DATASET.NAME, cfg.DATASET.ROOT)
    ensure_backbone(cfg.MODEL.BACKBONE.NAME)


def write_run_files(cfg, env_info: str, eval_only=False):
    """The merged config and the environment, next to log.txt, so every run leaves a trail."""
    header = RUN_KINDS["eval-only" if eval_only else "training"]
    atomic_write_text(osp.join(cfg.OUTPUT_DIR, CONFIG_FILE), header + cfg.dump())
    atomic_write_text(osp.join(cfg.OUTPUT_DIR, "env.txt"), env_info + "\n")


def main(args):
    cfg = setup_cfg(args)
    preflight(cfg, args)
    with RunLock(cfg.OUTPUT_DIR):
        check_run_folder(cfg, args)  # again, now that no other process can write the folder
        if args.restart:
            clear_run_folder(cfg.OUTPUT_DIR)
        run(cfg, args)


def run(cfg, args):
    if cfg.SEED >= 0:
        print(f"Setting fixed seed: {cfg.SEED}")
        set_random_seed(cfg.SEED)
    setup_logger(cfg.OUTPUT_DIR)
    if torch.cuda.is_available() and cfg.USE_CUDA:
        torch.backends.cudnn.benchmark = True
    print_args(args, cfg)
    print("Collecting env info ...")
    env_info = collect_env_info()  # about a second: it asks pip and the drivers
    print(f"** System info **\n{env_info}\n")
    write_run_files(cfg, env_info, args.eval_only)

    trainer = build_trainer(cfg)
    if hasattr(trainer, "set_run_args"):
        trainer.set_run_args(args.eval_only, args.model_dir, args.opts)
    if args.eval_only:
        trainer.load_model(args.model_dir, epoch=args.load_epoch)
        trainer.test()
        return
    if not args.no_train:
        trainer.train()


def build_parser():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=str, default="", help="path to dataset")
    parser.add_argument("--output-dir", type=str, default="", help="output directory")
    parser.add_argument("--resume", type=str, default="", help="checkpoint directory (from which the training resumes)")
    parser.add_argument("--seed", type=int, default=-1, help="only positive value enables a fixed seed")
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
    parser.add_argument("--load-epoch", type=int, help="load model weights at this epoch for evaluation")
    parser.add_argument("--no-train", action="store_true", help="do not call trainer.train()")
    parser.add_argument("--restart", action="store_true",
                        help="start the run folder afresh: delete the checkpoints, results and logs an earlier run "
                             "(of this or another config) left there")
    parser.add_argument("opts", default=None, nargs=argparse.REMAINDER, help="modify config options using the command-line")
    return parser


def cli(argv=None) -> None:
    """train.py's command line: bad input is one ``error:`` line and exit status 2."""
    try:
        main(build_parser().parse_args(argv))
    except LammError as error:
        # Bad input: one clear message, no traceback (bugs keep theirs).
        message = str(error)
        if "Original Traceback" in message:  # re-raised from a data-loader worker: keep our line
            message = message.strip().splitlines()[-1].split(": ", 1)[-1]
        print(f"error: {message}", file=sys.stderr)
        sys.exit(2)
    except OSError as error:  # after LammError: some of those are FileNotFoundErrors
        if error.errno != errno.ENAMETOOLONG:
            raise
        print(f"error: {error.strerror}: {error.filename}. Use a shorter --output-dir, or set TAG for the "
              "scripts (they name a run folder after its overrides otherwise).", file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    cli()

"""Train and evaluate prompt learners on CLIP with Dassl: the CoOp command line, unchanged.

    python train.py --root DATA --seed 1 --trainer LAMM \
        --dataset-config-file configs/datasets/caltech101.yaml \
        --config-file configs/trainers/LAMM/vit_b16_ep50_ctxv1_16shots.yaml \
        --output-dir output/caltech101/LAMM/vit_b16_ep50_ctxv1_16shots/seed1
"""
import argparse
import os.path as osp
import sys

import torch
from dassl.config import get_cfg_default
from dassl.engine import build_trainer
from dassl.utils import collect_env_info, set_random_seed, setup_logger

import datasets.readers  # noqa: F401  (registers the readers)
import trainers  # noqa: F401  (registers the trainers)
from lamm.errors import LammError
from lamm.files import RunLock, atomic_write_text
from trainers.config import extend_cfg
from trainers.config_checks import check_config_file, check_registered, check_values, merge_checked
from trainers.presets import apply_preset


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
    check_registered(cfg)
    check_values(cfg)
    cfg.freeze()
    return cfg


def write_run_files(cfg):
    """The merged config and the environment, next to log.txt, so every run leaves a trail."""
    atomic_write_text(osp.join(cfg.OUTPUT_DIR, "config.yaml"), cfg.dump())
    atomic_write_text(osp.join(cfg.OUTPUT_DIR, "env.txt"), collect_env_info() + "\n")


def main(args):
    cfg = setup_cfg(args)
    with RunLock(cfg.OUTPUT_DIR):
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
    print(f"** System info **\n{collect_env_info()}\n")
    write_run_files(cfg)

    trainer = build_trainer(cfg)
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
    parser.add_argument("opts", default=None, nargs=argparse.REMAINDER, help="modify config options using the command-line")
    return parser


if __name__ == "__main__":
    try:
        main(build_parser().parse_args())
    except LammError as error:
        # Bad input: one clear message, no traceback (bugs keep theirs).
        message = str(error)
        if "Original Traceback" in message:  # re-raised from a data-loader worker: keep our line
            message = message.strip().splitlines()[-1].split(": ", 1)[-1]
        print(f"error: {message}", file=sys.stderr)
        sys.exit(2)

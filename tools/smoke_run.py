"""A one-minute end-to-end run on the CPU, before downloading any weights or data."""
import argparse
import os
import subprocess
import sys
from pathlib import Path

from tools.synthetic.data import make_caltech101
from tools.synthetic.tiny_clip import TINY_IMAGE_SIZE, save_tiny_clip

REPO_ROOT = Path(__file__).resolve().parent.parent


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", default="smoke", help="folder for the model, data and output (default: smoke)")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--shots", type=int, default=4)
    args = parser.parse_args(argv)

    workdir = Path(args.workdir).resolve()
    data, output = workdir / "data", workdir / "output"
    workdir.mkdir(parents=True, exist_ok=True)
    clip_file = save_tiny_clip(workdir / "tiny_clip.pt")
    if not (data / "caltech-101").exists():
        make_caltech101(str(data), num_classes=5, train_per_class=16, val_per_class=4, test_per_class=10,
                        image_size=TINY_IMAGE_SIZE)
    env = dict(os.environ, DATA=str(data), OUTPUT=str(output), TAG="smoke", PYTHON=sys.executable)
    overrides = [
        "MODEL.BACKBONE.NAME", clip_file,
        "INPUT.SIZE", f"({TINY_IMAGE_SIZE}, {TINY_IMAGE_SIZE})",
        "OPTIM.MAX_EPOCH", str(args.epochs),
        "DATALOADER.NUM_WORKERS", "0",
        "DATALOADER.TRAIN_X.BATCH_SIZE", "8",
        "TRAINER.COOP.PREC", "fp32",
        "OPTIM.LR", "0.02",  # a random tiny CLIP needs larger steps than 0.002 to move in 10 epochs
    ]
    for command in (["bash", "scripts/lamm/main.sh", "caltech101", str(args.shots), *overrides],
                    [sys.executable, "parse_test_res.py", str(output), "--table", "runs"]):
        status = subprocess.run(command, cwd=REPO_ROOT, env=env).returncode
        if status:  # the command said why (its own error: line); a traceback here would bury it
            return status
    return 0


if __name__ == "__main__":
    sys.exit(main())

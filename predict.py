"""Classify your own images with a trained run: the top-k classes and their probabilities."""
import argparse
import contextlib
import csv
import json
import os
import os.path as osp
import sys

from lamm.errors import ConfigError, run_command
from lamm.preprocess import IMAGE_EXTENSIONS

FORMATS = ("table", "csv", "json")


def collect_images(paths):
    """Files given by name, and the image files below folders (recursively, sorted)."""
    images = []
    for path in paths:
        if osp.isdir(path):
            found = []
            for folder, subfolders, files in os.walk(path):
                subfolders.sort()
                found += [osp.join(folder, f) for f in sorted(files) if f.lower().endswith(IMAGE_EXTENSIONS)]
            if not found:
                print(f"note: no image files ({', '.join(IMAGE_EXTENSIONS)}) in {path}", file=sys.stderr)
            images += found
        elif osp.isfile(path):
            images.append(path)
        else:
            raise ConfigError(f"{path}: no such file or folder.")
    return images


def read_or_why_not(path):
    """(the image, None), or (None, why it cannot be classified)."""
    from PIL import Image

    from lamm.preprocess import read_image

    try:
        image = read_image(path)
    except Image.DecompressionBombError:  # PIL refuses to decode this many pixels (a small file can claim them)
        return None, f"too large to decode safely (over {Image.MAX_IMAGE_PIXELS} pixels); resize it first"
    return (image, None) if image is not None else (None, "not a readable image")


def predict(model, paths, topk=5, batch_size=100):
    """Yield (path, top-k [(class, probability)]) per readable image, (path, why skipped) per other file."""
    import torch

    from lamm.preprocess import build_test_transform

    transform = build_test_transform(model.preprocessing)
    k = min(topk, len(model.classnames))
    for start in range(0, len(paths), batch_size):
        chunk = paths[start:start + batch_size]
        readable, tensors = [], []
        for path in chunk:
            image, why_not = read_or_why_not(path)
            if image is None:
                yield path, why_not
                continue
            readable.append(path)
            tensors.append(transform(image))
        if not tensors:
            continue
        probabilities = model.logits(torch.stack(tensors)).float().softmax(dim=-1).cpu()
        values, indices = probabilities.topk(k, dim=-1)
        for path, p, i in zip(readable, values.tolist(), indices.tolist()):
            yield path, list(zip(i, p))


def write_results(results, classnames, fmt, out=None, model=None):
    """``model``: the run's description (``TrainedModel.describe``), which the JSON starts with."""
    out = out or sys.stdout
    if fmt == "json":
        images = [{"image": path, "predictions": [{"class": classnames[i], "index": i, "probability": p}
                                                  for i, p in top]} for path, top in results]
        json.dump(dict(model or {}, images=images), out, indent=2)
        out.write("\n")
    elif fmt == "csv":
        writer = csv.writer(out)
        writer.writerow(["image", "rank", "class", "index", "probability"])
        for path, top in results:
            for rank, (i, p) in enumerate(top, 1):
                writer.writerow([path, rank, classnames[i], i, f"{p:.6f}"])
    else:
        width = max((len(classnames[i]) for _, top in results for i, _ in top), default=5)
        for path, top in results:
            print(path, file=out)
            for rank, (i, p) in enumerate(top, 1):
                print(f"  {rank}. {classnames[i]:<{width}}  {100 * p:6.2f}%", file=out)


def resolve_device(name=None) -> str:
    """--device: cpu, cuda or cuda:N, checked against this machine (default: cuda when available)."""
    import torch

    if name is None:
        return "cuda" if torch.cuda.is_available() else "cpu"
    try:
        device = torch.device(name)
    except RuntimeError:
        device = None
    if device is None or device.type not in ("cpu", "cuda"):
        raise ConfigError(f"--device {name}: predict.py runs on cpu or cuda (cuda:N for the N-th GPU).")
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise ConfigError(f"--device {name}: no CUDA device is available here; use --device cpu.")
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise ConfigError(f"--device {name}: this machine has {torch.cuda.device_count()} CUDA device(s), "
                              f"cuda:0 to cuda:{torch.cuda.device_count() - 1}.")
    return name


def build_parser():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("images", nargs="+", metavar="IMAGE_OR_FOLDER")
    parser.add_argument("--model-dir", required=True, help="a training run's output folder")
    parser.add_argument("--load-epoch", type=int, help="the checkpoint's epoch (default: the final one)")
    parser.add_argument("--topk", type=int, default=5, help="classes per image (default 5)")
    parser.add_argument("--format", choices=FORMATS, default="table")
    parser.add_argument("--batch-size", type=int, help="images per forward pass (default: the run's test batch size)")
    parser.add_argument("--device", help="cpu or cuda (default: cuda when available)")
    return parser


def main(argv=None):
    args = build_parser().parse_args(argv)
    if args.topk < 1:
        raise ConfigError(f"--topk must be at least 1, got {args.topk}.")
    if args.batch_size is not None and args.batch_size < 1:
        raise ConfigError(f"--batch-size must be at least 1, got {args.batch_size}.")
    if not osp.isdir(args.model_dir):
        raise ConfigError(f"--model-dir {args.model_dir}: no such folder.")
    paths = collect_images(args.images)
    if not paths:
        raise ConfigError("no images to classify in " + ", ".join(args.images) + ".")

    import torch

    from trainers.from_run import TrainedModel

    device = resolve_device(args.device)
    with contextlib.redirect_stdout(sys.stderr):
        model = TrainedModel(args.model_dir, args.load_epoch, device)
    if model.unfinished_warning():
        print(model.unfinished_warning(), file=sys.stderr)
    batch_size = args.batch_size or model.cfg.DATALOADER.TEST.BATCH_SIZE
    results, skipped = [], []
    for path, top in predict(model, paths, args.topk, batch_size):
        if isinstance(top, str):
            skipped.append(path)
            print(f"skipped {path}: {top}", file=sys.stderr)
        else:
            results.append((path, top))
    if not results:
        raise ConfigError(f"none of the {len(paths)} files could be read as an image.")
    write_results(results, model.classnames, args.format, model=model.describe())


if __name__ == "__main__":
    run_command(main)

"""Small synthetic datasets in the real on-disk layout, for tests and smoke runs.

Each class is a distinct colour with a striped pattern plus pixel noise, so a tiny model can
learn it in a few steps. Images are JPEGs written with PIL, and the split file has CoOp's
format, so the real readers load them unchanged. Output depends only on the arguments; the
global ``random`` is never touched, so generating data does not shift a seeded run.

    python -m tools.synthetic_data caltech101 --root DIR    # prints DIR/caltech-101
"""
import argparse
import colorsys
import json
import os
import random

import numpy as np
from PIL import Image

# Real Caltech101 folders (the 100 classes CoOp keeps). The four that CoOp renames come first
# so that even a 4-class dataset exercises the renaming.
CALTECH101_FOLDERS = [
    "airplanes", "Faces", "Leopards", "Motorbikes", "accordion", "anchor", "ant", "barrel",
    "bass", "beaver", "binocular", "bonsai", "brain", "brontosaurus", "buddha", "butterfly",
    "camera", "cannon", "car_side", "ceiling_fan", "cellphone", "chair", "chandelier",
    "cougar_body", "cougar_face", "crab", "crayfish", "crocodile", "crocodile_head", "cup",
    "dalmatian", "dollar_bill", "dolphin", "dragonfly", "electric_guitar", "elephant", "emu",
    "euphonium", "ewer", "ferry", "flamingo", "flamingo_head", "garfield", "gerenuk",
    "gramophone", "grand_piano", "hawksbill", "headphone", "hedgehog", "helicopter", "ibis",
    "inline_skate", "joshua_tree", "kangaroo", "ketch", "lamp", "laptop", "llama", "lobster",
    "lotus", "mandolin", "mayfly", "menorah", "metronome", "minaret", "nautilus", "octopus",
    "okapi", "pagoda", "panda", "pigeon", "pizza", "platypus", "pyramid", "revolver", "rhino",
    "rooster", "saxophone", "schooner", "scissors", "scorpion", "sea_horse", "snoopy",
    "soccer_ball", "stapler", "starfish", "stegosaurus", "stop_sign", "strawberry", "sunflower",
    "tick", "trilobite", "umbrella", "watch", "water_lilly", "wheelchair", "wild_cat",
    "windsor_chair", "wrench", "yin_yang",
]
# The names CoOp stores for renamed folders (same table as datasets/caltech101.py, kept here
# so that this tool runs without Dassl).
CALTECH101_RENAMED = {
    "airplanes": "airplane",
    "Faces": "face",
    "Leopards": "leopard",
    "Motorbikes": "motorbike",
}


def _class_image(class_index, num_classes, image_size, rng):
    """An RGB uint8 array: the class's colour and stripes, plus noise drawn from ``rng``."""
    hue = class_index / num_classes
    colour = np.array(colorsys.hsv_to_rgb(hue, 0.8, 0.9)) * 255.0
    # Stripe direction and frequency also depend on the class, so neighbouring hues still differ.
    period = 4 + 2 * (class_index % 4)
    yy, xx = np.mgrid[0:image_size, 0:image_size]
    coord = (xx, yy, xx + yy, xx - yy)[(class_index // 4) % 4]
    stripes = ((coord // (period // 2)) % 2).astype(np.float64)[..., None]  # (H, W, 1)
    image = colour * (0.65 + 0.35 * stripes) + rng.normal(0.0, 12.0, size=(image_size, image_size, 3))
    return np.clip(image, 0, 255).astype(np.uint8)


def make_caltech101(
    root, num_classes=4, train_per_class=8, val_per_class=4, test_per_class=4, image_size=32, seed=0
):
    """Write a synthetic Caltech101 under ``root`` and return its folder ``root/caltech-101``.

    Layout, as the real dataset with CoOp's split file (pass ``root`` as DATASET.ROOT / --root):

        root/caltech-101/101_ObjectCategories/<folder>/image_0001.jpg ...
        root/caltech-101/split_zhou_Caltech101.json

    The classes are the first ``num_classes`` (at most 100) of ``CALTECH101_FOLDERS``; as in
    CoOp's split builder, labels follow the sorted folder names, the renamed folders are stored
    under their new names, and each class's images are shuffled before being dealt into
    train, val and test (train/val/test entries are grouped by label). The defaults allow up to
    8 shots (val keeps min(K, 4) per class).
    """
    if not 1 <= num_classes <= len(CALTECH101_FOLDERS):
        raise ValueError(f"num_classes must be in 1..{len(CALTECH101_FOLDERS)}, got {num_classes}.")
    if train_per_class < 1 or min(val_per_class, test_per_class) < 0:
        raise ValueError("train_per_class must be >= 1 and val/test_per_class >= 0.")
    rng = np.random.default_rng(seed)
    shuffler = random.Random(seed)
    dataset_dir = os.path.join(os.path.abspath(os.path.expanduser(root)), "caltech-101")
    image_dir = os.path.join(dataset_dir, "101_ObjectCategories")
    per_class = train_per_class + val_per_class + test_per_class

    split = {"train": [], "val": [], "test": []}
    for label, folder in enumerate(sorted(CALTECH101_FOLDERS[:num_classes])):
        os.makedirs(os.path.join(image_dir, folder), exist_ok=True)
        names = [f"image_{i:04d}.jpg" for i in range(1, per_class + 1)]
        for name in names:
            pixels = _class_image(CALTECH101_FOLDERS.index(folder), num_classes, image_size, rng)
            Image.fromarray(pixels).save(os.path.join(image_dir, folder, name), quality=90)
        shuffler.shuffle(names)
        classname = CALTECH101_RENAMED.get(folder, folder)
        bounds = {"train": (0, train_per_class), "val": (train_per_class, train_per_class + val_per_class),
                  "test": (train_per_class + val_per_class, per_class)}
        for key, (start, stop) in bounds.items():
            split[key].extend([f"{folder}/{name}", label, classname] for name in names[start:stop])

    with open(os.path.join(dataset_dir, "split_zhou_Caltech101.json"), "w", encoding="utf-8") as f:
        json.dump(split, f, indent=4, separators=(",", ": "))
    return dataset_dir


MAKERS = {"caltech101": make_caltech101}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("dataset", choices=sorted(MAKERS))
    parser.add_argument("--root", required=True, help="folder to write into (use it as --root / $DATA)")
    parser.add_argument("--num-classes", type=int, default=4)
    parser.add_argument("--train-per-class", type=int, default=8)
    parser.add_argument("--val-per-class", type=int, default=4)
    parser.add_argument("--test-per-class", type=int, default=4)
    parser.add_argument("--image-size", type=int, default=32)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    path = MAKERS[args.dataset](
        args.root,
        num_classes=args.num_classes,
        train_per_class=args.train_per_class,
        val_per_class=args.val_per_class,
        test_per_class=args.test_per_class,
        image_size=args.image_size,
        seed=args.seed,
    )
    print(path)


if __name__ == "__main__":
    main()

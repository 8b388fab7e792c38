"""datasets/readers/base_new.py: base and new halves of the classes, and the classes whose images train."""
import random

import pytest
from dassl.data import DataManager
from dassl.data.datasets import DATASET_REGISTRY

import datasets.readers  # noqa: F401  (registers the readers)
from datasets.readers.base_new import subsample_classes
from datasets.catalog import CATALOG
from datasets.split_file import (
    read_split,
)
from lamm.errors import ConfigError
from tests.fixtures import dataset_cfg
from tools.synthetic import data as synthetic_data

TEST_SETS = ("imagenetv2", "imagenet_sketch", "imagenet_a", "imagenet_r")
TRAINABLE = sorted(key for key in CATALOG if key not in TEST_SETS)
CLASSES = 4


def test_subsample_relabels_in_sorted_order(caltech, capsys):
    image_dir, split_path = caltech
    train, val, test = read_split(split_path, image_dir)
    # Shuffle train so that first-appearance order differs from label order: the cut is on sorted labels.
    random.Random(0).shuffle(train)
    base = subsample_classes(train, val, test, subsample="base")
    new = subsample_classes(train, val, test, subsample="new")
    assert "SUBSAMPLE BASE CLASSES!" in capsys.readouterr().out
    assert {(i.label, i.classname) for i in base[0]} == {(0, "face"), (1, "leopard"), (2, "motorbike")}
    assert {(i.label, i.classname) for i in new[2]} == {(0, "accordion"), (1, "airplane")}
    assert [len(s) for s in base] == [18, 12, 6] and [len(s) for s in new] == [12, 8, 4]
    assert subsample_classes(train, val, test, subsample="all") == (train, val, test)


def test_subsample_rejects_unknown_values():
    with pytest.raises(ValueError, match="must be one of"):
        subsample_classes([], subsample="Base")


def generate(key, root):
    synthetic_data.make(key, str(root), num_classes=CLASSES, train_per_class=8, val_per_class=4,
                        test_per_class=4)
    return str(root)


def build(key, root, shots=-1, subsample=None, train_classes=None, seed=1):
    cfg = dataset_cfg(CATALOG[key].name, root, shots, seed, subsample)
    if train_classes is not None:
        cfg.DATASET.TRAIN_CLASSES = train_classes  # train.py's extend_cfg adds it
    random.seed(seed)
    return DATASET_REGISTRY.get(CATALOG[key].name)(cfg)


def labels(items):
    return set(item.label for item in items)


@pytest.fixture(params=TRAINABLE)
def trainable(request, tmp_path):
    return request.param, generate(request.param, tmp_path / "data")


@pytest.mark.parametrize("shots", [-1, 2])
def test_stage_2_keeps_all_classes_and_trains_on_the_new_half(trainable, shots, capsys):
    key, root = trainable
    full = build(key, root, shots=shots)
    ds = build(key, root, shots=shots, subsample="all", train_classes="new")
    assert "TRAIN ON NEW CLASSES ONLY (2 of 4), LABEL SPACE: ALL" in capsys.readouterr().out
    assert ds.num_classes == CLASSES and len(ds.classnames) == CLASSES
    assert ds.classnames == full.classnames and ds.lab2cname == full.lab2cname
    assert ds.class_ids == list(range(CLASSES))
    assert labels(ds.train_x) == {2, 3} and labels(ds.val) == ({2, 3} if key != "imagenet" else set(range(4)))
    assert labels(ds.test) == set(range(CLASSES)) and len(ds.test) == len(full.test)
    # The new half's training images are exactly those of the full reader (same few-shot draw).
    assert [i.impath for i in ds.train_x] == [i.impath for i in full.train_x if i.label >= 2]
    for item in ds.train_x + ds.test:
        assert item.classname == ds.classnames[item.label]


def test_stage_2_through_dassls_data_manager(trainable):
    key, root = trainable
    cfg = dataset_cfg(CATALOG[key].name, root, 2, 1, "all")
    cfg.DATASET.TRAIN_CLASSES = "new"
    cfg.DATALOADER.NUM_WORKERS = 0
    cfg.DATALOADER.TRAIN_X.BATCH_SIZE = 2
    random.seed(1)
    dm = DataManager(cfg)
    assert dm.num_classes == CLASSES and len(dm.lab2cname) == CLASSES
    assert len(dm.dataset.classnames) == CLASSES


@pytest.mark.parametrize("half, kept", [("base", [0, 1]), ("new", [2, 3])])
def test_base_and_new_halves_declare_their_ids_among_all_classes(trainable, half, kept):
    key, root = trainable
    full = build(key, root, shots=2)
    ds = build(key, root, shots=2, subsample=half)
    assert ds.class_ids == kept and ds.num_classes == 2
    assert ds.classnames == [full.classnames[i] for i in kept]
    assert labels(ds.train_x) == {0, 1} and ds.label_space is None


def test_training_on_the_base_half_within_all_classes(trainable):
    key, root = trainable
    ds = build(key, root, shots=2, subsample="all", train_classes="base")
    assert labels(ds.train_x) == {0, 1} and ds.num_classes == CLASSES and len(ds.classnames) == CLASSES


def test_train_classes_with_a_half_of_the_classes_is_refused(trainable):
    key, root = trainable
    with pytest.raises(ConfigError, match="use it with DATASET.SUBSAMPLE_CLASSES all"):
        build(key, root, subsample="base", train_classes="new")
    with pytest.raises(ConfigError, match=r"TRAIN_CLASSES must be one of \['all', 'base', 'new'\], got 'novel'"):
        build(key, root, train_classes="novel")


def test_fgvc_aircraft_stage_2_gives_four_class_names(tmp_path):
    root = generate("fgvc_aircraft", tmp_path)
    ds = build("fgvc_aircraft", root, shots=2, subsample="all", train_classes="new")
    assert ds.classnames == ["707-320", "A300B4", "Cessna 172", "F/A-18"]
    assert ds.num_classes == 4 and labels(ds.train_x) == {2, 3}


@pytest.mark.parametrize("key", TEST_SETS)
def test_test_sets_declare_imagenet_ids_and_ignore_training_options(key, tmp_path, capsys):
    root = generate(key, tmp_path)
    ds = build(key, root)
    indices = {"imagenet_a": synthetic_data.IMAGENET_A_INDICES, "imagenet_r": synthetic_data.IMAGENET_R_INDICES}
    assert ds.class_ids == indices.get(key, list(range(4)))
    capsys.readouterr()
    for options in ({"subsample": "new"}, {"subsample": "all", "train_classes": "new"}):
        ignored = build(key, root, shots=2, **options)
        assert "is a test set: DATASET." in capsys.readouterr().out  # said, not silent
        assert ignored.classnames == ds.classnames and ignored.class_ids == ds.class_ids
        assert [i.impath for i in ignored.train_x] == [i.impath for i in ds.test]


def test_stage_2_trains_a_lamm_model_of_all_classes_on_fgvc_aircraft(tmp_path, tiny_clip_file):
    """The case that could not run: `scripts/incremental.sh <trainer> fgvc_aircraft`, stage 2."""
    import torch
    from dassl.engine import build_trainer

    import train
    from tests.fixtures import tiny_opts, train_args

    root = generate("fgvc_aircraft", tmp_path / "data")
    opts = tiny_opts(tiny_clip_file, "DATASET.NUM_SHOTS", "2", "DATASET.SUBSAMPLE_CLASSES", "all",
                     "DATASET.TRAIN_CLASSES", "new")
    args = train_args(root, tmp_path / "run", dataset_config="configs/datasets/fgvc_aircraft.yaml", opts=opts)
    torch.manual_seed(0)
    trainer = build_trainer(train.setup_cfg(args))
    assert trainer.dm.num_classes == 4 and len(trainer.dm.dataset.classnames) == 4
    assert trainer.model.prompt_learner()[0].shape[0] == 4  # one prompt per class of the label space
    batch = next(iter(trainer.train_loader_x))
    assert set(batch["label"].tolist()) <= {2, 3}
    trainer.batch_idx, trainer.num_batches = 0, 2  # what Dassl's run_epoch sets before a step
    loss = trainer.forward_backward(batch)
    assert all(torch.isfinite(torch.tensor(v)) for v in loss.values())

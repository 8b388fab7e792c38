"""Behaviour of the Dassl surface this project relies on.

These tests import ``dassl`` without knowing whether it is the real Dassl
0.6.3 or the test double beside them in tests/_dassl_double; they must pass with both:

    python -m pytest tests/_dassl_double/test_contract.py -q                # double
    python -m tests._dassl_double.record_real_dassl --python /path/to/venv-with-dassl/bin/python
"""
import inspect
import io
import json
import os
import os.path as osp
import pickle
import random
import re
import sys
import warnings
from collections import OrderedDict

import numpy as np
import pytest
import torch
import torch.nn as nn
from PIL import Image

from dassl.config import get_cfg_default
from dassl.data import DataManager, DatasetWrapper
from dassl.data.datasets import (
    DATASET_REGISTRY, DatasetBase, Datum, build_dataset
)
from dassl.data.transforms import INTERPOLATION_MODES, build_transform
from dassl.engine import (
    TRAINER_REGISTRY, SimpleTrainer, TrainerBase, TrainerX, build_trainer
)
from dassl.evaluation import build_evaluator
from dassl.metrics import compute_accuracy
from dassl.optim import build_lr_scheduler, build_optimizer
from dassl.utils import (
    AverageMeter, MetricMeter, Registry, check_availability, check_isfile,
    count_num_param, listdir_nohidden, load_checkpoint,
    load_pretrained_weights, mkdir_if_missing, read_json,
    resume_from_checkpoint, save_checkpoint, set_random_seed, setup_logger,
    tolist_if_not, write_json
)

# Every key of Dassl 0.6.3's defaults, in declaration order, with its value
# (types matter: yacs type-checks merges against them).
EXPECTED_DEFAULTS = [
    ('VERSION', 1),
    ('OUTPUT_DIR', './output'),
    ('RESUME', ''),
    ('SEED', -1),
    ('USE_CUDA', True),
    ('VERBOSE', True),
    ('INPUT.SIZE', (224, 224)),
    ('INPUT.INTERPOLATION', 'bilinear'),
    ('INPUT.TRANSFORMS', ()),
    ('INPUT.NO_TRANSFORM', False),
    ('INPUT.PIXEL_MEAN', [0.485, 0.456, 0.406]),
    ('INPUT.PIXEL_STD', [0.229, 0.224, 0.225]),
    ('INPUT.CROP_PADDING', 4),
    ('INPUT.RRCROP_SCALE', (0.08, 1.0)),
    ('INPUT.CUTOUT_N', 1),
    ('INPUT.CUTOUT_LEN', 16),
    ('INPUT.GN_MEAN', 0.0),
    ('INPUT.GN_STD', 0.15),
    ('INPUT.RANDAUGMENT_N', 2),
    ('INPUT.RANDAUGMENT_M', 10),
    ('INPUT.COLORJITTER_B', 0.4),
    ('INPUT.COLORJITTER_C', 0.4),
    ('INPUT.COLORJITTER_S', 0.4),
    ('INPUT.COLORJITTER_H', 0.1),
    ('INPUT.RGS_P', 0.2),
    ('INPUT.GB_P', 0.5),
    ('INPUT.GB_K', 21),
    ('DATASET.ROOT', ''),
    ('DATASET.NAME', ''),
    ('DATASET.SOURCE_DOMAINS', ()),
    ('DATASET.TARGET_DOMAINS', ()),
    ('DATASET.NUM_LABELED', -1),
    ('DATASET.NUM_SHOTS', -1),
    ('DATASET.VAL_PERCENT', 0.1),
    ('DATASET.STL10_FOLD', -1),
    ('DATASET.CIFAR_C_TYPE', ''),
    ('DATASET.CIFAR_C_LEVEL', 1),
    ('DATASET.ALL_AS_UNLABELED', False),
    ('DATALOADER.NUM_WORKERS', 4),
    ('DATALOADER.K_TRANSFORMS', 1),
    ('DATALOADER.RETURN_IMG0', False),
    ('DATALOADER.TRAIN_X.SAMPLER', 'RandomSampler'),
    ('DATALOADER.TRAIN_X.BATCH_SIZE', 32),
    ('DATALOADER.TRAIN_X.N_DOMAIN', 0),
    ('DATALOADER.TRAIN_X.N_INS', 16),
    ('DATALOADER.TRAIN_U.SAME_AS_X', True),
    ('DATALOADER.TRAIN_U.SAMPLER', 'RandomSampler'),
    ('DATALOADER.TRAIN_U.BATCH_SIZE', 32),
    ('DATALOADER.TRAIN_U.N_DOMAIN', 0),
    ('DATALOADER.TRAIN_U.N_INS', 16),
    ('DATALOADER.TEST.SAMPLER', 'SequentialSampler'),
    ('DATALOADER.TEST.BATCH_SIZE', 32),
    ('MODEL.INIT_WEIGHTS', ''),
    ('MODEL.BACKBONE.NAME', ''),
    ('MODEL.BACKBONE.PRETRAINED', True),
    ('MODEL.HEAD.NAME', ''),
    ('MODEL.HEAD.HIDDEN_LAYERS', ()),
    ('MODEL.HEAD.ACTIVATION', 'relu'),
    ('MODEL.HEAD.BN', True),
    ('MODEL.HEAD.DROPOUT', 0.0),
    ('OPTIM.NAME', 'adam'),
    ('OPTIM.LR', 0.0003),
    ('OPTIM.WEIGHT_DECAY', 0.0005),
    ('OPTIM.MOMENTUM', 0.9),
    ('OPTIM.SGD_DAMPNING', 0),
    ('OPTIM.SGD_NESTEROV', False),
    ('OPTIM.RMSPROP_ALPHA', 0.99),
    ('OPTIM.ADAM_BETA1', 0.9),
    ('OPTIM.ADAM_BETA2', 0.999),
    ('OPTIM.STAGED_LR', False),
    ('OPTIM.NEW_LAYERS', ()),
    ('OPTIM.BASE_LR_MULT', 0.1),
    ('OPTIM.LR_SCHEDULER', 'single_step'),
    ('OPTIM.STEPSIZE', (-1,)),
    ('OPTIM.GAMMA', 0.1),
    ('OPTIM.MAX_EPOCH', 10),
    ('OPTIM.WARMUP_EPOCH', -1),
    ('OPTIM.WARMUP_TYPE', 'linear'),
    ('OPTIM.WARMUP_CONS_LR', 1e-05),
    ('OPTIM.WARMUP_MIN_LR', 1e-05),
    ('OPTIM.WARMUP_RECOUNT', True),
    ('TRAIN.CHECKPOINT_FREQ', 0),
    ('TRAIN.PRINT_FREQ', 10),
    ('TRAIN.COUNT_ITER', 'train_x'),
    ('TEST.EVALUATOR', 'Classification'),
    ('TEST.PER_CLASS_RESULT', False),
    ('TEST.COMPUTE_CMAT', False),
    ('TEST.NO_TEST', False),
    ('TEST.SPLIT', 'test'),
    ('TEST.FINAL_MODEL', 'last_step'),
    ('TRAINER.NAME', ''),
    ('TRAINER.MCD.N_STEP_F', 4),
    ('TRAINER.MME.LMDA', 0.1),
    ('TRAINER.CDAC.CLASS_LR_MULTI', 10),
    ('TRAINER.CDAC.RAMPUP_COEF', 30),
    ('TRAINER.CDAC.RAMPUP_ITRS', 1000),
    ('TRAINER.CDAC.TOPK_MATCH', 5),
    ('TRAINER.CDAC.P_THRESH', 0.95),
    ('TRAINER.CDAC.STRONG_TRANSFORMS', ()),
    ('TRAINER.SE.EMA_ALPHA', 0.999),
    ('TRAINER.SE.CONF_THRE', 0.95),
    ('TRAINER.SE.RAMPUP', 300),
    ('TRAINER.M3SDA.LMDA', 0.5),
    ('TRAINER.M3SDA.N_STEP_F', 4),
    ('TRAINER.DAEL.WEIGHT_U', 0.5),
    ('TRAINER.DAEL.CONF_THRE', 0.95),
    ('TRAINER.DAEL.STRONG_TRANSFORMS', ()),
    ('TRAINER.CROSSGRAD.EPS_F', 1.0),
    ('TRAINER.CROSSGRAD.EPS_D', 1.0),
    ('TRAINER.CROSSGRAD.ALPHA_F', 0.5),
    ('TRAINER.CROSSGRAD.ALPHA_D', 0.5),
    ('TRAINER.DDAIG.G_ARCH', ''),
    ('TRAINER.DDAIG.LMDA', 0.3),
    ('TRAINER.DDAIG.CLAMP', False),
    ('TRAINER.DDAIG.CLAMP_MIN', -1.0),
    ('TRAINER.DDAIG.CLAMP_MAX', 1.0),
    ('TRAINER.DDAIG.WARMUP', 0),
    ('TRAINER.DDAIG.ALPHA', 0.5),
    ('TRAINER.DAELDG.WEIGHT_U', 0.5),
    ('TRAINER.DAELDG.CONF_THRE', 0.95),
    ('TRAINER.DAELDG.STRONG_TRANSFORMS', ()),
    ('TRAINER.DOMAINMIX.TYPE', 'crossdomain'),
    ('TRAINER.DOMAINMIX.ALPHA', 1.0),
    ('TRAINER.DOMAINMIX.BETA', 1.0),
    ('TRAINER.ENTMIN.LMDA', 0.001),
    ('TRAINER.MEANTEACHER.WEIGHT_U', 1.0),
    ('TRAINER.MEANTEACHER.EMA_ALPHA', 0.999),
    ('TRAINER.MEANTEACHER.RAMPUP', 5),
    ('TRAINER.MIXMATCH.WEIGHT_U', 100.0),
    ('TRAINER.MIXMATCH.TEMP', 2.0),
    ('TRAINER.MIXMATCH.MIXUP_BETA', 0.75),
    ('TRAINER.MIXMATCH.RAMPUP', 20000),
    ('TRAINER.FIXMATCH.WEIGHT_U', 1.0),
    ('TRAINER.FIXMATCH.CONF_THRE', 0.95),
    ('TRAINER.FIXMATCH.STRONG_TRANSFORMS', ()),
]

DASSL_TRAINERS = [
    "SE", "MCD", "MME", "ADDA", "CDAC", "DAEL", "DANN", "AdaBN", "M3SDA",
    "SourceOnly", "DDAIG", "DAELDG", "Vanilla", "CrossGrad", "DomainMix",
    "EntMin", "FixMatch", "MixMatch", "MeanTeacher", "SupBaseline",
]
DASSL_DATASETS = [
    "Digit5", "VisDA17", "CIFARSTL", "Office31", "DomainNet", "OfficeHome",
    "miniDomainNet", "PACS", "VLCS", "FMoW", "IWildCam", "Camelyon17",
    "CIFAR10C", "CIFAR100C", "DigitsDG", "DigitSingle", "OfficeHomeDG",
    "CIFAR10", "CIFAR100", "SVHN", "STL10",
]


def _flatten(node, prefix=""):
    for key, value in node.items():
        if isinstance(value, dict):
            yield from _flatten(value, prefix + key + ".")
        else:
            yield prefix + key, value


def _lines(text):
    return [line for line in text.splitlines() if line.strip()]


@pytest.fixture
def images(tmp_path):
    """3 classes x 6 small RGB images (PNG) of varying sizes."""
    rng = np.random.RandomState(0)
    paths = {}
    for c in range(3):
        folder = tmp_path / "images" / f"c{c}"
        folder.mkdir(parents=True)
        paths[c] = []
        for i in range(6):
            arr = (rng.rand(18 + i, 24, 3) * 255).astype("uint8")
            arr[..., c] = 230
            path = folder / f"{i}.png"
            Image.fromarray(arr).save(path)
            paths[c].append(str(path))
    return paths


# ---------------------------------------------------------------- registry
def test_registry_registers_by_class_name():
    reg = Registry("THING")

    @reg.register()
    class Alpha:
        pass

    class Beta:
        pass

    assert reg.register(Beta) is None
    assert reg.registered_names() == ["Alpha", "Beta"]
    assert reg.get("Alpha") is Alpha


def test_registry_duplicate_and_unknown_raise_keyerror():
    reg = Registry("THING")

    @reg.register()
    class Alpha:
        pass

    with pytest.raises(KeyError, match='An object named "Alpha" was already '
                       'registered in "THING" registry'):
        reg.register()(type("Alpha", (), {}))
    replacement = type("Alpha", (), {})
    reg.register(replacement, force=True)
    assert reg.get("Alpha") is replacement
    with pytest.raises(KeyError, match='Object name "Gamma" does not exist '
                       'in "THING" registry'):
        reg.get("Gamma")


def test_check_availability_message_and_closest_match():
    check_availability("CoOp", ["CoOp", "MaPLe"])
    with pytest.raises(ValueError) as err:
        check_availability("Maple", ["CoOp", "MaPLe"])
    assert str(err.value) == (
        "The requested one is expected to belong to ['CoOp', 'MaPLe'], "
        "but got [Maple] (do you mean [MaPLe]?)"
    )
    # ties go to the later candidate
    with pytest.raises(ValueError, match=r"\(do you mean \[ay\]\?\)"):
        check_availability("ab", ["ax", "ay"])


def test_builtin_dassl_names_are_taken():
    assert TRAINER_REGISTRY.registered_names()[:20] == DASSL_TRAINERS
    assert DATASET_REGISTRY.registered_names()[:21] == DASSL_DATASETS
    with pytest.raises(KeyError):
        TRAINER_REGISTRY.register()(type("Vanilla", (TrainerX, ), {}))
    with pytest.raises(KeyError):
        DATASET_REGISTRY.register()(type("PACS", (DatasetBase, ), {}))


def test_build_trainer_and_dataset_unknown_name():
    cfg = get_cfg_default()
    cfg.TRAINER.NAME = "MixMatc"
    with pytest.raises(ValueError, match=re.escape(
            "but got [MixMatc] (do you mean [MixMatch]?)")):
        build_trainer(cfg)
    cfg.DATASET.NAME = "Ofice31"
    with pytest.raises(ValueError, match=re.escape(
            "but got [Ofice31] (do you mean [Office31]?)")):
        build_dataset(cfg)


# ------------------------------------------------------------------ config
def test_cfg_default_keys_values_and_types():
    got = list(_flatten(get_cfg_default()))
    assert [k for k, _ in got] == [k for k, _ in EXPECTED_DEFAULTS]
    for (key, value), (_, expected) in zip(got, EXPECTED_DEFAULTS):
        assert type(value) is type(expected), key
        assert value == expected, key


def test_cfg_default_is_a_fresh_clone():
    a = get_cfg_default()
    a.OPTIM.LR = 1.0
    assert get_cfg_default().OPTIM.LR == 0.0003
    assert not get_cfg_default().is_frozen()


def test_cfg_yacs_merge_semantics(tmp_path):
    cfg = get_cfg_default()
    cfg.merge_from_list(["INPUT.SIZE", "(32, 32)", "OPTIM.LR", "1e-5",
                         "TRAINER.NAME", "CoOp", "TEST.NO_TEST", "True"])
    assert cfg.INPUT.SIZE == (32, 32) and cfg.OPTIM.LR == 1e-5
    assert cfg.TEST.NO_TEST is True
    # unknown keys are rejected (yacs: AssertionError from a list, KeyError
    # from a file)
    with pytest.raises(AssertionError, match="Non-existent key"):
        cfg.merge_from_list(["TRAINER.COOP.N_CTX", "16"])
    bad = tmp_path / "bad.yaml"
    bad.write_text("TRAINER:\n  COOP:\n    N_CTX: 4\n")
    with pytest.raises(KeyError):
        cfg.merge_from_file(str(bad))
    with pytest.raises(ValueError):
        cfg.merge_from_list(["OPTIM.MAX_EPOCH", "1.5"])  # int vs float
    yaml_file = tmp_path / "c.yaml"
    yaml_file.write_text("INPUT:\n  TRANSFORMS: ['random_flip']\n"
                         "OPTIM:\n  LR: 1e-3\n  STEPSIZE: [3]\n")
    cfg.merge_from_file(str(yaml_file))
    assert list(cfg.INPUT.TRANSFORMS) == ["random_flip"]
    assert cfg.OPTIM.LR == 1e-3 and list(cfg.OPTIM.STEPSIZE) == [3]


# -------------------------------------------------------------------- data
def test_datum_requires_existing_file(tmp_path, images):
    d = Datum(images[1][0], label=1, domain=0, classname="c1")
    assert (d.impath, d.label, d.domain, d.classname) == \
        (images[1][0], 1, 0, "c1")
    with pytest.raises(AttributeError):
        d.label = 2
    with pytest.warns(UserWarning, match="No file found at"):
        with pytest.raises(AssertionError):
            Datum(str(tmp_path / "missing.jpg"))
    with pytest.raises(AssertionError):
        Datum(images[1][0].encode())
    assert type(d).__module__ == "dassl.data.datasets.base_dataset"
    back = pickle.loads(pickle.dumps(d))
    assert back.impath == d.impath and back.label == 1


def test_datasetbase_classes_come_from_train_x(images):
    train = [Datum(images[2][0], 2, 0, "two"),
             Datum(images[0][0], 0, 0, "zero")]
    test = [Datum(images[1][0], 1, 0, "one")]
    ds = DatasetBase(train_x=train, test=test)
    assert ds.num_classes == 3
    assert ds.lab2cname == {0: "zero", 2: "two"}
    assert ds.classnames == ["zero", "two"]
    assert ds.val is None and ds.train_u is None and ds.test is test
    groups = ds.split_dataset_by_label(train + test)
    assert list(groups) == [2, 0, 1]


def _replay_fewshot(sources, k, repeat):
    """The picks of Dassl's generate_fewshot_dataset, replayed by hand:
    per source, per label in first-appearance order, random.sample (or
    random.choices with repeat) on Python's global RNG."""
    out = []
    for source in sources:
        by_label = OrderedDict()
        for item in source:
            by_label.setdefault(item.label, []).append(item)
        picked = []
        for items in by_label.values():
            if len(items) >= k:
                picked += random.sample(items, k)
            elif repeat:
                picked += random.choices(items, k=k)
            else:
                picked += items
        out.append(picked)
    return out


@pytest.mark.parametrize("repeat", [False, True])
def test_generate_fewshot_dataset_consumes_random_like_dassl(
        images, capsys, repeat):
    items = [Datum(p, c, 0, f"c{c}") for c in (2, 0, 1) for p in images[c]]
    random.Random(5).shuffle(items)
    val = items[:5]
    ds = DatasetBase(train_x=items, test=items)

    random.seed(7)
    train_k, val_k = ds.generate_fewshot_dataset(items, val, num_shots=4,
                                                 repeat=repeat)
    state_after = random.getstate()
    assert capsys.readouterr().out == "Creating a 4-shot dataset\n"

    random.seed(7)
    exp_train, exp_val = _replay_fewshot([items, val], 4, repeat)
    assert random.getstate() == state_after
    assert [d.impath for d in train_k] == [d.impath for d in exp_train]
    assert [d.impath for d in val_k] == [d.impath for d in exp_val]
    assert len(train_k) == 12
    if repeat:
        assert len(val_k) == 4 * len({d.label for d in val})
    else:
        assert len(val_k) == 5

    random.seed(7)
    again = ds.generate_fewshot_dataset(items, num_shots=4, repeat=repeat)
    assert [d.impath for d in again] == [d.impath for d in train_k]


def test_generate_fewshot_dataset_passthrough(images, capsys):
    items = [Datum(images[0][0], 0)]
    ds = DatasetBase(train_x=items)
    state = random.getstate()
    assert ds.generate_fewshot_dataset(items, num_shots=-1) is items
    both = ds.generate_fewshot_dataset(items, items, num_shots=0)
    assert both == (items, items)
    assert random.getstate() == state
    assert capsys.readouterr().out == ""


def test_build_transform_clip_choices(capsys):
    cfg = get_cfg_default()
    cfg.INPUT.INTERPOLATION = "bicubic"
    cfg.INPUT.TRANSFORMS = ["random_resized_crop", "random_flip", "normalize"]
    cfg.INPUT.PIXEL_MEAN = [0.5, 0.5, 0.5]
    cfg.INPUT.PIXEL_STD = [0.25, 0.25, 0.25]
    train = build_transform(cfg, is_train=True)
    test = build_transform(cfg, is_train=False)
    assert _lines(capsys.readouterr().out) == [
        "Building transform_train",
        "+ random resized crop (size=(224, 224), scale=(0.08, 1.0))",
        "+ random flip",
        "+ to torch tensor of range [0, 1]",
        "+ normalization (mean=[0.5, 0.5, 0.5], std=[0.25, 0.25, 0.25])",
        "Building transform_test",
        "+ resize the smaller edge to 224",
        "+ 224x224 center crop",
        "+ to torch tensor of range [0, 1]",
        "+ normalization (mean=[0.5, 0.5, 0.5], std=[0.25, 0.25, 0.25])",
    ]
    names = [type(t).__name__ for t in train.transforms]
    assert names == ["RandomResizedCrop", "RandomHorizontalFlip", "ToTensor",
                     "Normalize"]
    rrc = train.transforms[0]
    assert rrc.scale == (0.08, 1.0)
    assert rrc.interpolation == INTERPOLATION_MODES["bicubic"]
    assert train.transforms[1].p == 0.5
    names = [type(t).__name__ for t in test.transforms]
    assert names == ["Resize", "CenterCrop", "ToTensor", "Normalize"]
    assert test.transforms[0].size == 224
    assert test.transforms[0].interpolation == INTERPOLATION_MODES["bicubic"]


def test_build_transform_resize_rule_and_validation(capsys):
    cfg = get_cfg_default()
    train = build_transform(cfg, is_train=True, choices=["random_flip"])
    assert "+ resize to 224x224" in capsys.readouterr().out
    assert type(train.transforms[0]).__name__ == "Resize"
    build_transform(cfg, is_train=True, choices=["random_crop"])
    out = capsys.readouterr().out
    assert "+ resize to" not in out and "+ random crop (padding = 4)" in out
    test = build_transform(cfg, is_train=False, choices=["random_flip"])
    assert [type(t).__name__ for t in test.transforms] == \
        ["Resize", "CenterCrop", "ToTensor"]
    with pytest.raises(AssertionError):
        build_transform(cfg, is_train=True, choices=["random_flip", "nope"])
    cfg.INPUT.NO_TRANSFORM = True
    assert build_transform(cfg) is None
    assert "Note: no transform is applied!" in capsys.readouterr().out


def test_datasetwrapper_item(images):
    cfg = get_cfg_default()
    cfg.INPUT.SIZE = (8, 8)
    cfg.INPUT.TRANSFORMS = ("normalize", )
    cfg.DATALOADER.RETURN_IMG0 = True
    items = [Datum(images[1][3], 1, 4, "one")]
    wrapper = DatasetWrapper(cfg, items,
                             transform=build_transform(cfg, is_train=False))
    item = wrapper[0]
    assert sorted(item) == ["domain", "img", "img0", "impath", "index",
                            "label"]
    assert (item["label"], item["domain"], item["index"]) == (1, 4, 0)
    assert item["impath"] == images[1][3]
    assert item["img"].shape == (3, 8, 8) and item["img0"].shape == (3, 8, 8)
    raw = DatasetWrapper(cfg, items)[0]["img"]
    assert isinstance(raw, Image.Image) and raw.mode == "RGB"


# --------------------------------------------------------------- evaluator
def test_classification_evaluator_block(capsys):
    cfg = get_cfg_default()
    evaluator = build_evaluator(cfg, lab2cname={0: "a", 1: "b", 2: "c"})
    assert capsys.readouterr().out == "Loading evaluator: Classification\n"
    gt = torch.tensor([0, 1, 2] * 411 + [0])  # 1,234 samples
    pred = gt.clone()
    pred[:100] = 2
    logits = torch.zeros(len(gt), 3)
    logits[torch.arange(len(gt)), pred] = 1.0
    evaluator.reset()
    evaluator.process(logits[:600], gt[:600])
    evaluator.process(logits[600:], gt[600:])
    results = evaluator.evaluate()
    correct = int((pred == gt).sum())
    acc = 100.0 * correct / 1234
    assert list(results) == ["accuracy", "error_rate", "macro_f1"]
    assert results["accuracy"] == pytest.approx(acc)
    assert results["error_rate"] == pytest.approx(100.0 - acc)
    out = capsys.readouterr().out.splitlines()
    assert out[:5] == [
        "=> result",
        "* total: 1,234",
        f"* correct: {correct:,}",
        f"* accuracy: {acc:.1f}%",
        f"* error: {100 - acc:.1f}%",
    ]
    assert out[5] == f"* macro_f1: {results['macro_f1']:.1f}%"
    assert len(out) == 6


def test_classification_evaluator_per_class(capsys):
    cfg = get_cfg_default()
    cfg.TEST.PER_CLASS_RESULT = True
    evaluator = build_evaluator(cfg, lab2cname={0: "a", 1: "b"})
    evaluator.process(torch.tensor([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0]]),
                      torch.tensor([1, 0, 1]))
    results = evaluator.evaluate()
    assert list(results)[-1] == "perclass_accuracy"
    assert results["perclass_accuracy"] == pytest.approx(75.0)
    out = capsys.readouterr().out.splitlines()
    assert out[-4:] == [
        "=> per-class result",
        "* class: 0 (a)\ttotal: 1\tcorrect: 1\tacc: 100.0%",
        "* class: 1 (b)\ttotal: 2\tcorrect: 1\tacc: 50.0%",
        "* average: 75.0%",
    ]


def test_compute_accuracy():
    out = torch.tensor([[0.1, 0.9, 0.0], [0.8, 0.1, 0.1], [0.3, 0.2, 0.5],
                        [0.2, 0.5, 0.3]])
    target = torch.tensor([1, 1, 2, 2])
    (top1, ) = compute_accuracy(out, target)
    assert top1.shape == (1, ) and top1.item() == pytest.approx(50.0)
    assert compute_accuracy((out, None), target)[0].item() == \
        pytest.approx(50.0)
    # Dassl flattens a non-contiguous hit matrix with .view(); on current
    # torch that fails for k > 1 (batch > 1). Either way, both agree.
    try:
        top1, top2 = compute_accuracy(out, target, topk=(1, 2))
    except RuntimeError as err:
        assert "view size is not compatible" in str(err)
    else:
        assert top2.item() == pytest.approx(75.0)


# ------------------------------------------------------------------- optim
def _optim_cfg(**overrides):
    cfg = get_cfg_default()
    for key, value in overrides.items():
        cfg.OPTIM[key] = value
    return cfg.OPTIM


def test_build_optimizer_gets_all_params():
    model = nn.Sequential(nn.Linear(3, 4), nn.Linear(4, 2))
    for p in model[0].parameters():
        p.requires_grad = False
    optim = build_optimizer(model, _optim_cfg(NAME="sgd", LR=0.002))
    assert isinstance(optim, torch.optim.SGD)
    group = optim.param_groups[0]
    assert len(group["params"]) == 4
    assert (group["lr"], group["momentum"], group["weight_decay"],
            group["dampening"], group["nesterov"]) == \
        (0.002, 0.9, 5e-4, 0, False)
    adam = build_optimizer(model, _optim_cfg())
    assert isinstance(adam, torch.optim.Adam)
    assert adam.param_groups[0]["betas"] == (0.9, 0.999)
    adamw = build_optimizer(list(model.parameters()), _optim_cfg(NAME="adamw"))
    assert isinstance(adamw, torch.optim.AdamW)
    with pytest.raises(ValueError, match="optim must be one of"):
        build_optimizer(model, _optim_cfg(NAME="lamb"))


def test_build_lr_scheduler_plain():
    model = nn.Linear(2, 2)
    cfg = _optim_cfg(NAME="sgd", LR=0.1, MAX_EPOCH=4)
    sched = build_lr_scheduler(build_optimizer(model, cfg), cfg)
    assert isinstance(sched, torch.optim.lr_scheduler.StepLR)
    assert sched.step_size == 4
    cfg = _optim_cfg(NAME="sgd", LR=0.1, MAX_EPOCH=4, LR_SCHEDULER="cosine")
    optim = build_optimizer(model, cfg)
    sched = build_lr_scheduler(optim, cfg)
    assert isinstance(sched, torch.optim.lr_scheduler.CosineAnnealingLR)
    assert sched.T_max == 4.0 and sched.eta_min == 0
    lrs = []
    for _ in range(4):
        lrs.append(optim.param_groups[0]["lr"])
        optim.step()
        sched.step()
    assert lrs == pytest.approx([0.1, 0.05 * (1 + np.cos(np.pi / 4)), 0.05,
                                 0.05 * (1 + np.cos(3 * np.pi / 4))])
    cfg = _optim_cfg(LR_SCHEDULER="multi_step", STEPSIZE=(2, 3))
    sched = build_lr_scheduler(build_optimizer(model, cfg), cfg)
    assert isinstance(sched, torch.optim.lr_scheduler.MultiStepLR)
    with pytest.raises(ValueError, match="scheduler must be one of"):
        build_lr_scheduler(build_optimizer(model, cfg),
                           _optim_cfg(LR_SCHEDULER="poly"))


@pytest.mark.parametrize("warmup_type", ["constant", "linear"])
def test_warmup_scheduler_matches_torch_signature(warmup_type):
    """Dassl passes ``verbose`` positionally to torch's LRScheduler; on torch
    releases without that parameter (e.g. 2.14) building a warmup scheduler
    raises TypeError."""
    cfg = _optim_cfg(NAME="sgd", LR_SCHEDULER="cosine", WARMUP_EPOCH=1,
                     WARMUP_TYPE=warmup_type)
    optim = build_optimizer(nn.Linear(2, 2), cfg)
    params = inspect.signature(
        torch.optim.lr_scheduler.LRScheduler.__init__).parameters
    if "verbose" in params:
        build_lr_scheduler(optim, cfg)
    else:
        with pytest.raises(TypeError, match="positional argument"):
            build_lr_scheduler(optim, cfg)


# ------------------------------------------------------------------- utils
def test_file_helpers(tmp_path):
    (tmp_path / ".hidden").write_text("")
    (tmp_path / "b").mkdir()
    (tmp_path / "a.txt").write_text("")
    assert sorted(listdir_nohidden(str(tmp_path))) == ["a.txt", "b"]
    assert listdir_nohidden(str(tmp_path), sort=True) == ["a.txt", "b"]
    target = tmp_path / "new" / "x.json"
    write_json({"k": [1, 2]}, str(target))
    assert target.read_text() == json.dumps({"k": [1, 2]}, indent=4,
                                            separators=(",", ": "))
    assert read_json(str(target)) == {"k": [1, 2]}
    assert check_isfile(str(target))
    with pytest.warns(UserWarning, match="No file found at"):
        assert not check_isfile(str(tmp_path / "b"))
    mkdir_if_missing(str(tmp_path / "m" / "n"))
    mkdir_if_missing(str(tmp_path / "m" / "n"))
    assert (tmp_path / "m" / "n").is_dir()
    assert tolist_if_not(3) == [3] and tolist_if_not([3]) == [3]
    assert count_num_param(nn.Linear(3, 2)) == 8


def test_set_random_seed_seeds_all_three():
    set_random_seed(3)
    first = (random.random(), np.random.rand(), torch.rand(1).item())
    set_random_seed(3)
    assert (random.random(), np.random.rand(), torch.rand(1).item()) == first


def test_meters():
    meter = AverageMeter()
    meter.update(torch.tensor(2.0))
    meter.update(4.0, n=3)
    assert (meter.val, meter.avg) == (4.0, 3.5)
    metrics = MetricMeter()
    metrics.update({"loss": 1.0, "acc": torch.tensor(50.0)})
    metrics.update({"loss": 0.5, "acc": 100.0})
    assert str(metrics) == "loss 0.5000 (0.7500) acc 100.0000 (75.0000)"
    with pytest.raises(TypeError):
        metrics.update([1.0])


def _detach_logger():
    """Undo setup_logger: restore stdout and neutralise the Logger, whose
    close()/__del__ would otherwise close the stream it wraps."""
    logger = sys.stdout
    sys.stdout = logger.console
    logger.file.close()
    logger.console = io.StringIO()
    return logger


def test_setup_logger_tee_and_timestamp_suffix(tmp_path):
    out = tmp_path / "run"
    setup_logger(str(out))
    try:
        print("first line")
        sys.stdout.flush()
    finally:
        first = _detach_logger()
    assert first.file.name == str(out / "log.txt")
    assert (out / "log.txt").read_text() == "first line\n"

    setup_logger(str(out))
    try:
        print("second")
    finally:
        second = _detach_logger()
    assert re.fullmatch(re.escape(str(out / "log.txt")) +
                        r"-\d{4}-\d\d-\d\d-\d\d-\d\d-\d\d", second.file.name)
    assert (out / "log.txt").read_text() == "first line\n"
    with open(second.file.name) as f:
        assert f.read() == "second\n"

    setup_logger(str(tmp_path / "custom.log"))
    try:
        print("c")
    finally:
        third = _detach_logger()
    assert third.file.name == str(tmp_path / "custom.log")
    assert setup_logger(None) is None


# ------------------------------------------------------------- checkpoints
def test_save_and_resume_checkpoint(tmp_path, capsys):
    model = nn.Linear(3, 2)
    optim = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    sched = torch.optim.lr_scheduler.StepLR(optim, 2)
    state = {"state_dict": {"module." + k: v for k, v in
                            model.state_dict().items()},
             "epoch": 3, "optimizer": optim.state_dict(),
             "scheduler": sched.state_dict(), "val_result": None}
    folder = tmp_path / "prompt_learner"
    save_checkpoint(state, str(folder), is_best=True)
    fpath = str(folder / "model.pth.tar-3")
    best = str(folder / "model-best.pth.tar")
    assert capsys.readouterr().out.splitlines() == [
        f"Checkpoint saved to {fpath}",
        f'Best checkpoint saved to "{best}"',
    ]
    assert (folder / "checkpoint").read_text() == "model.pth.tar-3\n"
    ckpt = load_checkpoint(fpath)
    assert sorted(ckpt) == ["epoch", "optimizer", "scheduler", "state_dict",
                            "val_result"]
    assert list(ckpt["state_dict"]) == ["weight", "bias"]

    fresh = nn.Linear(3, 2)
    epoch = resume_from_checkpoint(str(folder), fresh,
                                   torch.optim.SGD(fresh.parameters(), lr=1))
    assert epoch == 3
    assert torch.equal(fresh.weight, model.weight)
    assert capsys.readouterr().out.splitlines() == [
        f'Loading checkpoint from "{fpath}"',
        "Loaded model weights",
        "Loaded optimizer",
        "Previous epoch: 3",
    ]
    with pytest.raises(FileNotFoundError, match="File is not found at"):
        load_checkpoint(str(folder / "nope"))


def test_load_pretrained_weights_matches_name_and_size(tmp_path, capsys):
    src = nn.Sequential(nn.Linear(3, 2), nn.Linear(2, 5))
    torch.save({"state_dict": {"module." + k: v for k, v in
                               src.state_dict().items()}},
               str(tmp_path / "w.pth"))
    dst = nn.Sequential(nn.Linear(3, 2), nn.Linear(2, 4))
    load_pretrained_weights(dst, str(tmp_path / "w.pth"))
    assert torch.equal(dst[0].weight, src[0].weight)
    assert capsys.readouterr().out.splitlines() == [
        f"Successfully loaded pretrained weights from {tmp_path / 'w.pth'}",
        "Layers discarded due to unmatched keys or size: ['1.weight', "
        "'1.bias']",
    ]


class _Bare(TrainerBase):
    pass


def test_trainerbase_models_save_resume_load(tmp_path, capsys):
    tb = _Bare()
    assert tb._writer is None
    model = nn.Linear(3, 2)
    optim = torch.optim.SGD(model.parameters(), lr=0.5)
    sched = torch.optim.lr_scheduler.StepLR(optim, 1, gamma=0.1)
    tb.register_model("toy", model, optim, sched)
    tb.register_model("frozen", nn.Linear(1, 1))
    with pytest.raises(AssertionError):
        tb.register_model("toy", model)
    assert tb.get_model_names() == ["toy", "frozen"]
    assert tb.get_model_names("frozen") == ["frozen"]
    tb.set_model_mode("eval")
    assert not model.training
    with pytest.raises(KeyError):
        tb.set_model_mode("predict")
    with pytest.raises(FloatingPointError, match="Loss is infinite or NaN!"):
        tb.detect_anomaly(torch.tensor(float("nan")))
    optim.step()
    tb.update_lr()
    assert optim.param_groups[0]["lr"] == pytest.approx(0.05)

    assert tb.resume_model_if_exist(str(tmp_path)) == 0
    assert capsys.readouterr().out == \
        "No checkpoint found, train from scratch\n"

    tb.save_model(1, str(tmp_path))
    tb.save_model(1, str(tmp_path), val_result=42.0,
                  model_name="model-best.pth.tar")
    assert sorted(os.listdir(tmp_path / "toy")) == \
        ["checkpoint", "model-best.pth.tar", "model.pth.tar-2"]
    assert (tmp_path / "toy" / "checkpoint").read_text() == \
        "model-best.pth.tar\n"
    ckpt = torch.load(str(tmp_path / "frozen" / "model.pth.tar-2"))
    assert ckpt["optimizer"] is None and ckpt["scheduler"] is None
    assert ckpt["epoch"] == 2 and ckpt["val_result"] is None
    capsys.readouterr()

    assert tb.resume_model_if_exist(str(tmp_path)) == 2
    out = capsys.readouterr().out.splitlines()
    assert out[0] == f"Found checkpoint at {tmp_path} (will resume training)"
    assert out.count("Previous epoch: 2") == 2

    tb.load_model(str(tmp_path))
    best = osp.join(str(tmp_path), "toy", "model-best.pth.tar")
    assert f"Load {best} to toy (epoch=2, val_result=42.0)" in \
        capsys.readouterr().out
    with pytest.raises(TypeError):  # val_result None cannot be .1f-formatted
        tb.load_model(str(tmp_path), epoch=2)
    with pytest.raises(FileNotFoundError, match="No model at"):
        tb.load_model(str(tmp_path), epoch=7)
    tb.load_model("")
    assert "load_model() is skipped" in capsys.readouterr().out


# -------------------------------------------------------- end-to-end train
_TOY = {}


@DATASET_REGISTRY.register()
class DoubleTestToyData(DatasetBase):

    def __init__(self, cfg):
        paths = _TOY["paths"]
        train = [Datum(p, c, 0, f"class_{c}") for c in range(3)
                 for p in paths[c][:4]]
        test = [Datum(p, c, 0, f"class_{c}") for c in range(3)
                for p in paths[c][4:]]
        train = self.generate_fewshot_dataset(
            train, num_shots=cfg.DATASET.NUM_SHOTS)
        super().__init__(train_x=train, val=[], test=test)


@TRAINER_REGISTRY.register()
class DoubleTestToyTrainer(TrainerX):

    def check_cfg(self, cfg):
        _TOY["had_cfg_in_check_cfg"] = hasattr(self, "cfg")

    def build_model(self):
        self.model = nn.Sequential(nn.AdaptiveAvgPool2d(2), nn.Flatten(),
                                   nn.Linear(12, self.num_classes))
        self.model.to(self.device)
        self.optim = build_optimizer(self.model, self.cfg.OPTIM)
        self.sched = build_lr_scheduler(self.optim, self.cfg.OPTIM)
        self.register_model("head", self.model, self.optim, self.sched)

    def forward_backward(self, batch):
        image, label, _ = self.parse_batch_train(batch)
        loss = nn.functional.cross_entropy(self.model(image), label)
        self.model_backward_and_update(loss)
        if self.batch_idx + 1 == self.num_batches:
            self.update_lr()
        return {"loss": loss.item()}


def _toy_cfg(out, opts=()):
    cfg = get_cfg_default()
    cfg.DATASET.NAME = "DoubleTestToyData"
    cfg.TRAINER.NAME = "DoubleTestToyTrainer"
    cfg.OUTPUT_DIR = str(out)
    cfg.USE_CUDA = False
    cfg.INPUT.SIZE = (16, 16)
    cfg.INPUT.TRANSFORMS = ("random_resized_crop", "random_flip", "normalize")
    cfg.DATALOADER.NUM_WORKERS = 0
    cfg.DATALOADER.TRAIN_X.BATCH_SIZE = 4
    cfg.DATALOADER.TEST.BATCH_SIZE = 5
    cfg.OPTIM.NAME = "sgd"
    cfg.OPTIM.LR = 0.01
    cfg.OPTIM.MAX_EPOCH = 2
    cfg.OPTIM.LR_SCHEDULER = "cosine"
    cfg.TRAIN.PRINT_FREQ = 2
    cfg.merge_from_list(list(opts))
    cfg.freeze()
    return cfg


def test_trainerx_end_to_end(tmp_path, images, capsys):
    _TOY["paths"] = images
    out = tmp_path / "out"
    set_random_seed(1)
    trainer = build_trainer(_toy_cfg(out))
    assert _TOY["had_cfg_in_check_cfg"] is False
    assert trainer.device == torch.device("cpu")
    assert trainer.best_result == -np.inf
    assert (trainer.start_epoch, trainer.epoch, trainer.max_epoch) == (0, 0, 2)
    assert trainer.output_dir == str(out)
    assert trainer.val_loader is None and trainer.train_loader_u is None
    assert trainer.num_classes == 3 and trainer.num_source_domains == 0
    assert trainer.lab2cname == {0: "class_0", 1: "class_1", 2: "class_2"}
    assert trainer.dm.dataset.classnames == ["class_0", "class_1", "class_2"]
    assert trainer.train_loader_x.drop_last is True
    assert len(trainer.train_loader_x) == 3  # 12 images, batch 4
    assert isinstance(trainer.train_loader_x.sampler,
                      torch.utils.data.RandomSampler)
    assert isinstance(trainer.test_loader.sampler,
                      torch.utils.data.SequentialSampler)
    batch = next(iter(trainer.test_loader))
    assert sorted(batch) == ["domain", "img", "impath", "index", "label"]
    assert batch["img"].shape == (5, 3, 16, 16)
    assert batch["index"].tolist() == [0, 1, 2, 3, 4]
    built = capsys.readouterr().out.splitlines()
    assert built[:2] == ["Loading trainer: DoubleTestToyTrainer",
                         "Loading dataset: DoubleTestToyData"]
    assert built[-1] == "Loading evaluator: Classification"
    table = built[-7:-1]
    assert table[0] == table[-1] and set(table[0]) == {"-", " "}
    assert [row.split() for row in table[1:-1]] == [
        ["Dataset", "DoubleTestToyData"], ["#", "classes", "3"],
        ["#", "train_x", "12"], ["#", "test", "6"]]

    trainer.train()
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "No checkpoint found, train from scratch"
    assert lines[1] == \
        f"Initialize tensorboard (log_dir={out / 'tensorboard'})"
    step_lines = [line for line in lines if line.startswith("epoch [")]
    pattern = (r"epoch \[(\d)/2\] batch \[2/3\] time \d+\.\d{3} "
               r"\(\d+\.\d{3}\) data \d+\.\d{3} \(\d+\.\d{3}\) "
               r"loss \d+\.\d{4} \(\d+\.\d{4}\) lr (\S+) eta \d+:\d\d:\d\d")
    matches = [re.fullmatch(pattern, line) for line in step_lines]
    assert len(matches) == 2 and all(matches)
    assert [m.group(2) for m in matches] == ["1.0000e-02", "5.0000e-03"]
    rest = lines[lines.index(step_lines[-1]) + 1:]
    assert rest[:6] == [
        f"Checkpoint saved to {out / 'head' / 'model.pth.tar-2'}",
        "Finish training",
        "Deploy the last-epoch model",
        "Evaluate on the *test* set",
        "=> result",
        "* total: 6",
    ]
    assert re.fullmatch(r"Elapsed: \d+:\d\d:\d\d", rest[-1])
    assert sorted(os.listdir(out)) == ["head", "tensorboard"]
    assert sorted(os.listdir(out / "head")) == \
        ["checkpoint", "model.pth.tar-2"]
    assert trainer.get_current_lr() == pytest.approx(0.0)

    # a finished run resumes at max_epoch: no epoch runs, only the test
    set_random_seed(1)
    again = build_trainer(_toy_cfg(out))
    capsys.readouterr()
    again.train()
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == f"Found checkpoint at {out} (will resume training)"
    assert "Previous epoch: 2" in lines
    assert not any(line.startswith("epoch [") for line in lines)
    assert "Finish training" in lines and "* total: 6" in lines
    for p_old, p_new in zip(trainer.model.parameters(),
                            again.model.parameters()):
        assert torch.equal(p_old, p_new)


def test_trainerx_short_dataset_single_batch(tmp_path, images, capsys):
    _TOY["paths"] = images
    cfg = _toy_cfg(tmp_path / "o", ["DATASET.NUM_SHOTS", 1,
                                    "DATALOADER.TRAIN_X.BATCH_SIZE", 32,
                                    "TRAIN.PRINT_FREQ", 5,
                                    "TEST.NO_TEST", True])
    set_random_seed(2)
    trainer = build_trainer(cfg)
    assert trainer.train_loader_x.drop_last is False
    assert len(trainer.train_loader_x) == 1
    capsys.readouterr()
    trainer.train()
    lines = capsys.readouterr().out.splitlines()
    steps = [line.split(" time")[0] for line in lines
             if line.startswith("epoch [")]
    assert steps == ["epoch [1/2] batch [1/1]", "epoch [2/2] batch [1/1]"]
    assert "Finish training" in lines
    assert "Deploy the last-epoch model" not in lines
    assert not any(line.startswith("Evaluate") for line in lines)


def test_best_val_checkpoints(tmp_path, images, capsys):
    _TOY["paths"] = images
    out = tmp_path / "bv"
    cfg = _toy_cfg(out, ["TEST.FINAL_MODEL", "best_val",
                         "TRAIN.CHECKPOINT_FREQ", 1])
    set_random_seed(3)
    trainer = build_trainer(cfg)
    capsys.readouterr()
    trainer.train()
    lines = capsys.readouterr().out.splitlines()
    # no val data: the per-epoch evaluation falls back to the test split
    assert lines.count("Evaluate on the *test* set") == 3
    assert "Deploy the model with the best val performance" in lines
    assert any(line.startswith(f"Load {out / 'head' / 'model-best.pth.tar'}"
                               " to head (epoch=") for line in lines)
    files = set(os.listdir(out / "head"))
    assert {"checkpoint", "model-best.pth.tar", "model.pth.tar-1",
            "model.pth.tar-2"} == files
    assert trainer.best_result > -np.inf

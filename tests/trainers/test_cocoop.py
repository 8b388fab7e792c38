"""trainers/cocoop.py: CoCoOp and CoCoOp + LAMM inside Dassl: config keys, what trains, optimiser
and schedule, checkpoints to and from the CoOp repository, and runs through train.py."""
import json
import math
from collections import OrderedDict

import pytest
import torch
import torch.nn.functional as F
from dassl.engine import build_trainer
from torch import nn

import train
from lamm.clip_loader import load_clip
from trainers.config import add_cocoop_config
from tests.fixtures import run_train, tiny_opts, train_args
from tests.helpers import reference_cocoop

TRAINERS = ("CoCoOp", "CoCoOpLAMM")
CONFIG = "configs/trainers/{}/vit_b16_c4_ep10_batch1_ctxv1{}.yaml"
META_NET = ["meta_net.linear1.weight", "meta_net.linear1.bias", "meta_net.linear2.weight", "meta_net.linear2.bias"]
LEARNED = {"CoCoOp": ["ctx"] + META_NET, "CoCoOpLAMM": ["ctx"] + META_NET + ["label_embeddings.vectors"]}
CPU_OPTS = ["TRAINER.COCOOP.PREC", "fp32"]


def cocoop_trainer(trainer, root, clip_file, output, *extra):
    config = CONFIG.format(trainer, "_4shots")
    cfg = train.setup_cfg(train_args(root, output, trainer=trainer, config=config,
                                     opts=tiny_opts(clip_file, *CPU_OPTS, *extra)))
    torch.manual_seed(0)
    return build_trainer(cfg)


def one_epoch(trainer, lr=None):
    trainer.set_model_mode("train")
    trainer.num_batches = len(trainer.train_loader_x)
    if lr is not None:
        trainer.optim.param_groups[0]["lr"] = lr
    summaries = []
    for trainer.batch_idx, batch in enumerate(trainer.train_loader_x):
        summaries.append(trainer.forward_backward(batch))
    return summaries


# ---------------------------------------------------------------- config

def test_cocoops_keys_and_defaults_are_the_coop_repositorys():
    from yacs.config import CfgNode as CN

    cfg = CN()
    cfg.TRAINER = CN()
    add_cocoop_config(cfg)
    assert dict(cfg.TRAINER.COCOOP) == {"N_CTX": 16, "CTX_INIT": "", "PREC": "fp16"}


@pytest.mark.parametrize("trainer", TRAINERS)
def test_the_shipped_configs_are_cocoops_schedule(trainer, caltech_root, tmp_path):
    for shots in ("", "_1shots", "_16shots"):
        cfg = train.setup_cfg(train_args(caltech_root, tmp_path, trainer=trainer, config=CONFIG.format(trainer, shots)))
        assert (cfg.TRAINER.COCOOP.N_CTX, cfg.TRAINER.COCOOP.CTX_INIT, cfg.TRAINER.COCOOP.PREC) == (4, "a photo of a", "fp16")
        assert (cfg.DATALOADER.TRAIN_X.BATCH_SIZE, cfg.OPTIM.MAX_EPOCH, cfg.OPTIM.LR, cfg.OPTIM.NAME) == (1, 10, 0.002, "sgd")
        assert (cfg.OPTIM.LR_SCHEDULER, cfg.OPTIM.WARMUP_EPOCH, cfg.OPTIM.WARMUP_CONS_LR) == ("cosine", 1, 1e-5)
        assert cfg.DATASET.NUM_SHOTS == {"": cfg.DATASET.NUM_SHOTS, "_1shots": 1, "_16shots": 16}[shots]
    assert cfg.TRAINER.LAMM.ORIGINAL_CONTEXT == "current"


@pytest.mark.parametrize("opts, message", [
    (["TRAINER.COCOOP.CTX_INIT", "", "TRAINER.COCOOP.N_CTX", "0"], r"TRAINER.COCOOP.N_CTX must be >= 1, got 0"),
    (["TRAINER.COCOOP.PREC", "fp64"], r"TRAINER.COCOOP.PREC: .*fp64"),
])
def test_impossible_cocoop_values_are_rejected_before_anything_runs(opts, message, caltech_root, tmp_path):
    from lamm.errors import ConfigError

    with pytest.raises(ConfigError, match=message):
        train.setup_cfg(train_args(caltech_root, tmp_path, trainer="CoCoOp", config=CONFIG.format("CoCoOp", ""),
                                   opts=opts))


# ---------------------------------------------------------------- training

@pytest.mark.parametrize("trainer_name", TRAINERS)
def test_a_training_step_changes_exactly_what_the_trainer_learns(trainer_name, caltech_root, tiny_clip_file, tmp_path):
    trainer = cocoop_trainer(trainer_name, caltech_root, tiny_clip_file, tmp_path / "run")
    model, learner = trainer.model, trainer.model.prompt_learner
    before = {k: v.clone() for k, v in model.state_dict().items()}
    assert sorted(n for n, p in model.named_parameters() if p.requires_grad) == sorted(
        f"prompt_learner.{name}" for name in LEARNED[trainer_name])
    summaries = one_epoch(trainer, lr=0.1)  # past the 1e-5 warmup, so every change is visible
    changed = {k for k, v in model.state_dict().items() if not torch.equal(v, before[k])}
    assert changed == {f"prompt_learner.{name}" for name in LEARNED[trainer_name]}
    for name, param in learner.named_parameters():
        assert param.grad is not None and torch.isfinite(param.grad).all() and param.grad.abs().sum() > 0, name
    expected = {"loss", "acc", "ce", "wc", "cos", "kd"} if trainer_name == "CoCoOpLAMM" else {"loss", "acc"}
    assert all(set(summary) == expected for summary in summaries)
    assert all(math.isfinite(value) for summary in summaries for value in summary.values())


@pytest.mark.filterwarnings(r"ignore:Detected call of `lr_scheduler.step\(\)`")
def test_the_optimiser_and_schedule_are_cocoops(caltech_root, tiny_clip_file, tmp_path):
    trainer = cocoop_trainer("CoCoOp", caltech_root, tiny_clip_file, tmp_path, "OPTIM.MAX_EPOCH", "10")
    optim = trainer.optim
    assert isinstance(optim, torch.optim.SGD)
    assert {id(p) for group in optim.param_groups for p in group["params"]} == \
        {id(p) for p in trainer.model.prompt_learner.parameters()}
    group = optim.param_groups[0]
    assert (group["momentum"], group["weight_decay"]) == (0.9, 5e-4)
    lrs = []
    for _ in range(10):
        lrs.append(optim.param_groups[0]["lr"])
        trainer.sched.step()
    expected = [1e-5] + [0.002 * 0.5 * (1 + math.cos(math.pi * (e - 1) / 10)) for e in range(1, 10)]
    assert lrs == pytest.approx(expected, rel=1e-9)


def test_cocoop_lamm_with_every_extra_weight_zero_is_cocoops_cross_entropy(caltech_root, tiny_clip_file, tmp_path):
    trainer = cocoop_trainer("CoCoOpLAMM", caltech_root, tiny_clip_file, tmp_path, "TRAINER.LAMM.LAMBDA_WC", "0.0",
                             "TRAINER.LAMM.LAMBDA_COS", "0.0", "TRAINER.LAMM.LAMBDA_KD", "0.0")
    assert trainer.criterion.weights == {"ce": 1.0} and not trainer.criterion.needs_original_prompts
    batch = next(iter(trainer.train_loader_x))
    images, labels = trainer.parse_batch_train(batch)
    with torch.no_grad():
        logits = trainer.model(images)
    trainer.num_batches, trainer.batch_idx = 2, 0
    summary = trainer.forward_backward(batch)
    assert set(summary) == {"loss", "acc"}
    assert summary["loss"] == pytest.approx(F.cross_entropy(logits, labels).item(), rel=1e-6)


def test_cocoop_lamms_weight_consolidation_is_zero_at_the_first_step(caltech_root, tiny_clip_file, tmp_path):
    trainer = cocoop_trainer("CoCoOpLAMM", caltech_root, tiny_clip_file, tmp_path)
    summaries = one_epoch(trainer, lr=0.5)
    assert summaries[0]["wc"] == 0.0 and summaries[-1]["wc"] > 0.0


# ---------------------------------------------------------------- checkpoints both ways

def reference_meta_net(state, dtype):
    """The CoOp repository's prompt learner as a module: ``ctx``, its Meta-Net, its saved buffers."""
    learner = nn.Module()
    learner.ctx = nn.Parameter(torch.zeros(state["ctx"].shape, dtype=dtype))
    hidden, width = state["meta_net.linear1.weight"].shape
    learner.meta_net = nn.Sequential(OrderedDict([("linear1", nn.Linear(width, hidden)), ("relu", nn.ReLU(inplace=True)),
                                                  ("linear2", nn.Linear(hidden, state["ctx"].shape[1]))])).to(dtype)
    learner.register_buffer("token_prefix", torch.zeros(4, 1, 64, dtype=dtype))
    learner.register_buffer("token_suffix", torch.zeros(4, 72, 64, dtype=dtype))
    return learner


def reference_accuracy(trainer, clip_file, ctx, meta_net):
    """Accuracy on the test split of the hand-built CoCoOp with these weights."""
    clip_model = load_clip(clip_file).float()
    correct = total = 0
    with torch.no_grad():
        for batch in trainer.test_loader:
            logits, _ = reference_cocoop(clip_model, trainer.dm.dataset.classnames, ctx.float(), meta_net,
                                         batch["img"], batch["label"])
            correct += (logits.argmax(dim=1) == batch["label"]).sum().item()
            total += len(batch["label"])
    return 100.0 * correct / total


def test_a_checkpoint_of_the_coop_repositorys_cocoop_evaluates_here(caltech_root, tiny_clip_file, tmp_path):
    trainer = cocoop_trainer("CoCoOp", caltech_root, tiny_clip_file, tmp_path / "run")
    torch.manual_seed(3)
    # What the CoOp repository saves at PREC fp16: ctx and the Meta-Net in half precision, the
    # prompt buffers, pickled optimizer and scheduler objects.
    theirs = reference_meta_net({"ctx": torch.zeros(4, 64), "meta_net.linear1.weight": torch.zeros(2, 32)}, torch.half)
    with torch.no_grad():
        for p in theirs.parameters():
            p.copy_(torch.randn_like(p.float()))
    optimizer = torch.optim.SGD(theirs.parameters(), lr=0.002, momentum=0.9)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, 10.0)
    folder = tmp_path / "coop_repo_run" / "prompt_learner"
    folder.mkdir(parents=True)
    torch.save({"state_dict": theirs.state_dict(), "epoch": 10, "optimizer": optimizer.state_dict(),
                "scheduler": {"successor": scheduler, "last_epoch": 10}, "val_result": None}, folder / "model.pth.tar-10")
    trainer.load_model(str(tmp_path / "coop_repo_run"), epoch=10)
    assert trainer.loaded_epoch == 10
    for name, value in trainer.model.prompt_learner.state_dict().items():
        torch.testing.assert_close(value, theirs.state_dict()[name].float(), rtol=0, atol=0)
    accuracy = trainer.test()
    meta_net = {name: layer.float() for name, layer in theirs.meta_net.named_children() if name != "relu"}
    assert accuracy == reference_accuracy(trainer, tiny_clip_file, theirs.ctx.detach(), meta_net)


def test_a_checkpoint_written_here_loads_into_the_coop_repositorys_cocoop(caltech_root, tiny_clip_file, tmp_path):
    trainer = cocoop_trainer("CoCoOp", caltech_root, tiny_clip_file, tmp_path / "run")
    one_epoch(trainer, lr=0.5)
    trainer.save_model(1, str(tmp_path / "run"))
    path = tmp_path / "run" / "prompt_learner" / "model.pth.tar-2"
    # The CoOp repository's load_model: torch.load, drop the prompt buffers, load with strict=False.
    checkpoint = torch.load(path, map_location="cpu")
    state = checkpoint["state_dict"]
    theirs = reference_meta_net(state, torch.float32)  # its PREC fp32 model
    result = theirs.load_state_dict(state, strict=False)
    assert sorted(result.missing_keys) == ["token_prefix", "token_suffix"] and not result.unexpected_keys
    assert checkpoint["epoch"] == 2
    meta_net = {name: layer for name, layer in theirs.meta_net.named_children() if name != "relu"}
    assert reference_accuracy(trainer, tiny_clip_file, theirs.ctx.detach(), meta_net) == trainer.test()


def test_a_checkpoint_without_a_meta_net_is_refused(caltech_root, tiny_clip_file, tmp_path):
    from lamm.errors import CheckpointError

    trainer = cocoop_trainer("CoCoOp", caltech_root, tiny_clip_file, tmp_path / "run")
    folder = tmp_path / "coop_repo_coop_run" / "prompt_learner"  # the CoOp repository's CoOp: ctx only
    folder.mkdir(parents=True)
    torch.save({"state_dict": {"ctx": torch.zeros(4, 64).half()}, "epoch": 50}, folder / "model.pth.tar-50")
    with pytest.raises(CheckpointError, match=r"holds no Meta-Net \(meta_net.\*\): it is not a CoCoOp checkpoint"):
        trainer.load_model(str(tmp_path / "coop_repo_coop_run"), epoch=50)


def test_a_coop_repository_cocoop_checkpoint_given_to_coop_is_refused(caltech_root, tiny_clip_file, tmp_path):
    """(LAMM refuses any learned context already.) Its context alone is not the model that trained (the Meta-Net shifts it per image): one error, naming CoCoOp."""
    folder = tmp_path / "coop_repo_cocoop_run" / "prompt_learner"
    folder.mkdir(parents=True)
    theirs = reference_meta_net({"ctx": torch.zeros(4, 64), "meta_net.linear1.weight": torch.zeros(2, 32)}, torch.half)
    torch.save({"state_dict": theirs.state_dict(), "epoch": 10}, folder / "model.pth.tar-10")
    evaluation = tmp_path / "eval"
    code, output = run_train("--root", caltech_root, "--seed", "1", "--trainer", "CoOp", "--dataset-config-file",
                             "configs/datasets/caltech101.yaml", "--config-file",
                             "configs/trainers/CoOp/vit_b16_ep50_ctxv1_4shots.yaml", "--output-dir", evaluation,
                             "--eval-only", "--model-dir", folder.parent, "--load-epoch", "10",
                             *tiny_opts(tiny_clip_file), check=False)
    assert code == 2 and "Traceback" not in output, output
    (line,) = [line for line in output.splitlines() if line.startswith("error:")]
    assert "holds a Meta-Net (meta_net.*): it is a CoCoOp checkpoint" in line and "--trainer CoCoOp" in line
    assert not (evaluation / "results.json").exists()


# ---------------------------------------------------------------- through train.py

def test_cocoop_lamm_trains_and_tests_through_train_py(caltech_root, tiny_clip_file, tmp_path):
    run = tmp_path / "caltech101" / "CoCoOpLAMM" / "seed1"
    config = CONFIG.format("CoCoOpLAMM", "_4shots")
    base = ["--root", caltech_root, "--seed", "1", "--trainer", "CoCoOpLAMM", "--dataset-config-file",
            "configs/datasets/caltech101.yaml", "--config-file", config]
    _, output = run_train(*base, "--output-dir", run, *tiny_opts(tiny_clip_file, *CPU_OPTS))
    record = json.loads((run / "results.json").read_text())
    assert record["trainer"] == "CoCoOpLAMM" and record["epoch"] == 2
    assert set(record["loss"]) == {"ce", "wc", "cos", "kd"}
    assert "CoCoOpLAMM on Caltech101, 4 shots, seed 1: training, 2 epochs" in output and "Traceback" not in output
    state = torch.load(run / "prompt_learner" / "model.pth.tar-2", map_location="cpu")["state_dict"]
    assert {"ctx", *META_NET, "label_embeddings.vectors"} <= set(state)
    evaluation = tmp_path / "eval"
    run_train(*base, "--output-dir", evaluation, "--eval-only", "--model-dir", run, "--load-epoch", "2",
              *tiny_opts(tiny_clip_file, *CPU_OPTS))
    assert json.loads((evaluation / "results.json").read_text())["accuracy"] == record["accuracy"]

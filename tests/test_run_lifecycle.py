"""A run's life: its record, reruns of its folder, eval-only runs, checkpoints, and the errors
train.py gives before anything is written (issue 11 items 1, 6, 7, 9; issue 12 item 7)."""
import errno
import os
import shutil
from pathlib import Path

import pytest
import torch
import yaml
from dassl.engine import TRAINER_REGISTRY, build_trainer

import train
from lamm.errors import CheckpointError, CheckpointNotFoundError, ConfigError
from lamm.run_record import config_fingerprint, read_record
from tests.fixtures import REPO_ROOT, run_train, tiny_opts, train_args
from trainers.checkpoints import latest_checkpoint, read_checkpoint, save_checkpoint_atomically
from trainers.config import lambda_wc
from trainers.config_checks import load_config_file, merge_checked

CONFIG = "configs/trainers/LAMM/vit_b16_ep50_ctxv1_4shots.yaml"
COOP_CONFIG = "configs/trainers/CoOp/vit_b16_ep50_ctxv1_4shots.yaml"
DATASET_CONFIG = "configs/datasets/caltech101.yaml"


def flags(root, output, trainer="LAMM", config=CONFIG):
    return ["--root", str(root), "--seed", "1", "--trainer", trainer, "--dataset-config-file", DATASET_CONFIG,
            "--config-file", config, "--output-dir", str(output)]


@pytest.fixture(scope="module")
def trained_run(caltech_root, tiny_clip_file, tmp_path_factory):
    """A finished 2-epoch LAMM run, through the real entry point."""
    run = tmp_path_factory.mktemp("runs") / "caltech101" / "LAMM" / "seed1"
    run_train(*flags(caltech_root, run), *tiny_opts(tiny_clip_file))
    return run


def preflight(*args, **kwargs):
    parsed = train_args(*args, **kwargs)
    cfg = train.setup_cfg(parsed)
    train.preflight(cfg, parsed)
    return cfg


# ---------------------------------------------------------------- the record

def test_the_record_says_what_the_run_is(trained_run, tiny_clip_file):
    record = read_record(str(trained_run))
    assert record["record_version"] == 2 and record["method"] == record["trainer"] == "LAMM"
    assert record["protocol"] == "fewshot" and record["variant"] == "" and record["stage"] is None
    assert record["eval_set"] is None and record["source_dataset"] is None and record["train_classes"] == "all"
    assert record["eval_only"] is False and record["untrained"] is False and record["checkpoint"] is None
    assert record["loss"] == {"ce": 1.0, "wc": 0.25, "cos": 1.0, "kd": 0.05}  # λ1 = 1/4 at 4 shots
    assert record["labels"] == {"tokens": "shortest", "init": "word"} and record["preset"] == "default"
    assert record["overrides"] == tiny_opts(tiny_clip_file)
    assert record["classnames"] and len(record["classnames"]) == record["num_classes"] == 4
    saved_config = yaml.safe_load((trained_run / "config.yaml").read_text())
    assert record["config_fingerprint"] == config_fingerprint(saved_config)
    assert record["time_s"]["train"] > 0 and record["time_s"]["test"] > 0
    assert record["peak_memory_gb"]["device"] == "cpu" and record["peak_memory_gb"]["train"] > 0.01
    assert record["peak_memory_gb"]["test"] >= record["peak_memory_gb"]["train"]  # CPU: the process's peak so far
    if (REPO_ROOT / ".git").exists():
        assert len(record["code_version"]["commit"]) == 40


def test_checkpoints_carry_their_trainer_and_classes(trained_run):
    checkpoint = read_checkpoint(str(trained_run / "prompt_learner" / "model.pth.tar-2"))
    assert checkpoint["meta"]["trainer"] == checkpoint["meta"]["family"] == "LAMM"
    assert checkpoint["meta"]["classnames"] == read_record(str(trained_run))["classnames"]
    assert checkpoint["train_time_s"] > 0


def test_eval_only_without_a_model_is_recorded_as_untrained(caltech_root, tiny_clip_file, tmp_path):
    run_train(*flags(caltech_root, tmp_path / "zero"), "--eval-only", *tiny_opts(tiny_clip_file))
    record = read_record(str(tmp_path / "zero"))
    assert record["eval_only"] is True and record["untrained"] is True and record["epoch"] == 0
    assert record["time_s"]["train"] is None and record["checkpoint"] is None
    assert (tmp_path / "zero" / "config.yaml").read_text().startswith("# train.py run: eval-only")


def test_an_eval_only_record_names_the_checkpoint_it_evaluated(trained_run, caltech_root, tiny_clip_file, tmp_path):
    args = train_args(caltech_root, tmp_path / "eval", opts=tiny_opts(tiny_clip_file, "RUN.EVAL_SET", "all",
                                                                      "RUN.SOURCE_DATASET", "caltech101"),
                      eval_only=True, model_dir=trained_run, load_epoch=2)
    trainer = build_trainer(train.setup_cfg(args))
    trainer.set_run_args(args.eval_only, args.model_dir, args.opts)
    trainer.load_model(args.model_dir, epoch=2)
    trainer.test()
    record = read_record(str(tmp_path / "eval"))
    assert record["eval_only"] is True and record["untrained"] is False and record["epoch"] == 2
    assert record["checkpoint"] == {"run_dir": str(trained_run), "epoch": 2,
                                    "file": str(trained_run / "prompt_learner" / "model.pth.tar-2")}
    assert record["accuracy"] == read_record(str(trained_run))["accuracy"]
    assert record["eval_set"] == "all" and record["source_dataset"] == "caltech101"
    assert record["time_s"]["train"] is None and record["peak_memory_gb"]["train"] is None
    assert record["config_fingerprint"] == read_record(str(trained_run))["config_fingerprint"]  # RUN.* are labels


# ---------------------------------------------------------------- reruns of a run folder

def test_a_rerun_with_the_same_config_passes(trained_run, caltech_root, tiny_clip_file):
    preflight(caltech_root, trained_run, opts=tiny_opts(tiny_clip_file, "DATALOADER.NUM_WORKERS", "1"))


@pytest.mark.parametrize("extra, seed, named", [
    (["OPTIM.LR", "0.01"], 1, "OPTIM.LR: 0.002 -> 0.01"),
    (["OPTIM.MAX_EPOCH", "3"], 1, "OPTIM.MAX_EPOCH: 2 -> 3"),
    ([], 2, "SEED: 1 -> 2"),
])
def test_a_rerun_of_another_config_names_what_changed_and_the_ways_out(extra, seed, named, trained_run, caltech_root,
                                                                        tiny_clip_file):
    before = (trained_run / "config.yaml").read_text()
    with pytest.raises(ConfigError) as raised:
        preflight(caltech_root, trained_run, seed=seed, opts=tiny_opts(tiny_clip_file, *extra))
    message = str(raised.value)
    assert named in message and "another --output-dir" in message and "TAG" in message and "--restart" in message
    assert (trained_run / "config.yaml").read_text() == before  # not rewritten


def test_restart_clears_the_old_run(trained_run, caltech_root, tiny_clip_file, tmp_path):
    copy = tmp_path / "seed1"
    shutil.copytree(trained_run, copy)
    preflight(caltech_root, copy, opts=tiny_opts(tiny_clip_file, "OPTIM.LR", "0.01"), restart=True)
    train.clear_run_folder(str(copy))
    assert sorted(os.listdir(copy)) == [".lock"]  # checkpoints, record, config, env, log, tensorboard gone


def test_eval_only_never_writes_into_a_training_run(trained_run, caltech_root, tiny_clip_file):
    with pytest.raises(ConfigError, match=r"holds a training run.*--output-dir .*caltech101/LAMM/eval/seed1"):
        preflight(caltech_root, trained_run, opts=tiny_opts(tiny_clip_file), eval_only=True, model_dir=trained_run)


def test_training_never_writes_into_an_eval_only_run(caltech_root, tiny_clip_file, tmp_path):
    folder = tmp_path / "eval"
    folder.mkdir()
    (folder / "config.yaml").write_text("# train.py run: eval-only\nSEED: 1\n")
    with pytest.raises(ConfigError, match="holds an eval-only run"):
        preflight(caltech_root, folder, opts=tiny_opts(tiny_clip_file))


# ---------------------------------------------------------------- checkpoints

def test_another_familys_checkpoint_is_refused_unless_through_init_weights(trained_run, caltech_root, tiny_clip_file,
                                                                           tmp_path):
    cfg = train.setup_cfg(train_args(caltech_root, tmp_path / "coop", trainer="CoOp", config=COOP_CONFIG,
                                     opts=tiny_opts(tiny_clip_file)))
    coop = build_trainer(cfg)
    with pytest.raises(CheckpointError, match=r"written by the LAMM trainer, not CoOp.*--trainer LAMM.*MODEL.INIT_WEIGHTS"):
        coop.load_model(str(trained_run), epoch=2)

    cfg = train.setup_cfg(train_args(caltech_root, tmp_path / "coop2", trainer="CoOp", config=COOP_CONFIG,
                                     opts=tiny_opts(tiny_clip_file, "MODEL.INIT_WEIGHTS", str(trained_run))))
    initialised = build_trainer(cfg)  # an explicit initialisation: the context is taken over
    saved = read_checkpoint(str(trained_run / "prompt_learner" / "model.pth.tar-2"))["state_dict"]["ctx"]
    torch.testing.assert_close(initialised.model.prompt_learner.ctx.detach(), saved.float())


def test_a_checkpoint_without_meta_is_told_apart_by_its_labels(caltech_root, tiny_clip_file, tmp_path):
    folder = tmp_path / "coop_repo_run" / "prompt_learner"
    folder.mkdir(parents=True)
    torch.save({"state_dict": {"ctx": torch.zeros(4, 64)}, "epoch": 50}, folder / "model.pth.tar-50")
    lamm = build_trainer(train.setup_cfg(train_args(caltech_root, tmp_path / "x", opts=tiny_opts(tiny_clip_file))))
    with pytest.raises(CheckpointError, match="has no label embeddings.*LAMM cannot use"):
        lamm.load_model(str(tmp_path / "coop_repo_run"), epoch=50)


@pytest.mark.parametrize("content, message", [
    (b"", r"model.pth.tar-2 is empty \(0 bytes\)"),
    (b"not a checkpoint", r"model.pth.tar-2 is not a readable checkpoint"),
    ("truncated", r"model.pth.tar-2 is not a readable checkpoint"),
])
def test_an_empty_or_corrupt_checkpoint_is_named(content, message, trained_run, tmp_path):
    path = tmp_path / "model.pth.tar-2"
    good = (trained_run / "prompt_learner" / "model.pth.tar-2").read_bytes()
    path.write_bytes(good[: len(good) // 2] if content == "truncated" else content)
    with pytest.raises(CheckpointError, match=message):
        read_checkpoint(str(path))


@pytest.mark.parametrize("failure", [OSError(errno.ENOSPC, "No space left on device"),
                                     RuntimeError("[enforce fail at inline_container.cc:603] . unexpected pos 64")])
def test_a_full_disk_during_a_save_is_named_and_keeps_the_previous_checkpoint(failure, tmp_path, monkeypatch):
    folder = tmp_path / "prompt_learner"
    save_checkpoint_atomically({"epoch": 1, "w": torch.ones(3)}, str(folder), "model.pth.tar-1")
    before = (folder / "model.pth.tar-1").read_bytes()

    def full_disk(obj, path, *args, **kwargs):
        Path(path).write_bytes(b"\0" * 10)  # part of a file, then the failure
        raise failure

    monkeypatch.setattr(torch, "save", full_disk)
    with pytest.raises(CheckpointError, match=rf"Could not write the checkpoint model.pth.tar-2 in {folder} .*GB free.*intact"):
        save_checkpoint_atomically({"epoch": 2}, str(folder), "model.pth.tar-2")
    assert sorted(os.listdir(folder)) == ["checkpoint", "model.pth.tar-1"]  # no partial file left
    assert (folder / "model.pth.tar-1").read_bytes() == before
    assert latest_checkpoint(str(folder)) == str(folder / "model.pth.tar-1")


def test_a_checkpoint_note_naming_a_missing_file_is_an_error(trained_run, caltech_root, tiny_clip_file, tmp_path):
    copy = tmp_path / "seed1"
    shutil.copytree(trained_run, copy)
    (copy / "prompt_learner" / "checkpoint").write_text("model.pth.tar-1\n")
    trainer = build_trainer(train.setup_cfg(train_args(caltech_root, copy, opts=tiny_opts(tiny_clip_file))))
    with pytest.raises(CheckpointNotFoundError, match=r"names model.pth.tar-1, which is missing \(epochs present: 2\)"):
        trainer.resume_model_if_exist(str(copy))


def test_resume_needs_an_existing_folder_with_a_checkpoint(caltech_root, tiny_clip_file, tmp_path):
    with pytest.raises(ConfigError, match=r"--resume .*missing does not exist"):
        preflight(caltech_root, tmp_path / "run", opts=tiny_opts(tiny_clip_file), resume=tmp_path / "missing")
    assert not (tmp_path / "run").exists()
    (tmp_path / "empty").mkdir()
    cfg = train.setup_cfg(train_args(caltech_root, tmp_path / "run", opts=tiny_opts(tiny_clip_file),
                                     resume=tmp_path / "empty"))
    with pytest.raises(CheckpointNotFoundError, match="holds no checkpoint"):
        build_trainer(cfg).resume_model_if_exist(cfg.RESUME)


@pytest.mark.parametrize("model_dir, epoch, message", [
    ("missing", None, r"--model-dir .*missing does not exist"),
    ("prompt_learner", None, r"is a checkpoint folder; give the run folder above it: --model-dir .*seed1$"),
    ("", 7, r"model.pth.tar-7.*epochs present: 2 \(--load-epoch\)"),
    ("..", None, r"holds runs \(seed1\), not a checkpoint; give one run, e.g. --model-dir .*LAMM/seed1$"),
])
def test_model_dir_and_load_epoch_mistakes_say_the_right_path(model_dir, epoch, message, trained_run, caltech_root,
                                                              tiny_clip_file, tmp_path):
    extra = {"load_epoch": epoch} if epoch else {}
    with pytest.raises(CheckpointNotFoundError, match=message):
        preflight(caltech_root, tmp_path / "eval", opts=tiny_opts(tiny_clip_file), eval_only=True,
                  model_dir=os.path.normpath(trained_run / model_dir) if model_dir else trained_run, **extra)
    assert not (tmp_path / "eval").exists()


# ---------------------------------------------------------------- configs

def test_base_files_are_merged_under_the_including_file(tmp_path):
    (tmp_path / "shared").mkdir()
    (tmp_path / "shared" / "schedule.yaml").write_text("OPTIM:\n  LR: 0.002\n  MAX_EPOCH: 50\n")
    (tmp_path / "shared" / "labels.yaml").write_text("OPTIM:\n  MAX_EPOCH: 20\nTRAINER:\n  LAMM:\n    LAMBDA_KD: 0.1\n")
    (tmp_path / "base.yaml").write_text("_BASE_: [shared/schedule.yaml, shared/labels.yaml]\n")
    (tmp_path / "run_4shots.yaml").write_text("_BASE_: base.yaml\nDATASET:\n  NUM_SHOTS: 4\nOPTIM:\n  LR: 0.01\n")
    assert load_config_file(str(tmp_path / "run_4shots.yaml")) == {
        "OPTIM": {"LR": 0.01, "MAX_EPOCH": 20}, "TRAINER": {"LAMM": {"LAMBDA_KD": 0.1}}, "DATASET": {"NUM_SHOTS": 4}}

    (tmp_path / "loop.yaml").write_text("_BASE_: loop.yaml\n")
    with pytest.raises(ConfigError, match="_BASE_ loop"):
        load_config_file(str(tmp_path / "loop.yaml"))
    (tmp_path / "broken.yaml").write_text("_BASE_: nowhere.yaml\n")
    with pytest.raises(ConfigError, match=r"_BASE_ nowhere.yaml not found"):
        load_config_file(str(tmp_path / "broken.yaml"))


def test_what_the_shot_counts_share_lives_in_one_file():
    for trainer in ("CoOp", "LAMM", "CoOpLAMM", "MaPLe", "MaPLeLAMM"):
        for path in (REPO_ROOT / "configs" / "trainers" / trainer).glob("*shots.yaml"):
            loaded = yaml.safe_load(path.read_text())
            assert set(loaded) == {"_BASE_", "DATASET"} and set(loaded["DATASET"]) == {"NUM_SHOTS"}, path
            assert f"_{loaded['DATASET']['NUM_SHOTS']}shots.yaml" in path.name


def test_lambda_wc_follows_the_shots_a_config_is_run_at(caltech_root, tiny_clip_file, tmp_path):
    sixteen = "configs/trainers/LAMM/vit_b16_ep50_ctxv1_16shots.yaml"
    cfg = train.setup_cfg(train_args(caltech_root, tmp_path, config=sixteen, opts=["DATASET.NUM_SHOTS", "4"]))
    assert lambda_wc(cfg) == 0.25
    cfg = train.setup_cfg(train_args(caltech_root, tmp_path, config=sixteen, opts=["TRAINER.LAMM.LAMBDA_WC", "1"]))
    assert cfg.TRAINER.LAMM.LAMBDA_WC == 1.0 and isinstance(cfg.TRAINER.LAMM.LAMBDA_WC, float)


def test_an_int_in_a_config_file_where_a_float_belongs_is_that_float(tmp_path):
    from dassl.config import get_cfg_default
    from trainers.config import extend_cfg

    (tmp_path / "c.yaml").write_text("TRAINER:\n  LAMM:\n    LAMBDA_WC: 1\nOPTIM:\n  MAX_EPOCH: 3\n")
    cfg = get_cfg_default()
    extend_cfg(cfg)
    merge_checked(cfg, str(tmp_path / "c.yaml"))
    assert cfg.TRAINER.LAMM.LAMBDA_WC == 1.0 and isinstance(cfg.TRAINER.LAMM.LAMBDA_WC, float)
    with pytest.raises(ConfigError, match="Invalid value"):  # a float where an int belongs stays an error
        merge_checked(cfg, ["OPTIM.MAX_EPOCH", "2.5"])


# ---------------------------------------------------------------- errors before anything is written

def test_no_arguments_is_a_usage_error_with_this_projects_trainers():
    with pytest.raises(ConfigError) as raised:
        train.setup_cfg(train.build_parser().parse_args([]))
    message = str(raised.value)
    assert message.startswith("No trainer given (--trainer; one of CoOp, CoOpLAMM, LAMM, MaPLe, MaPLeLAMM, ZeroshotCLIP)")
    assert "Usage: python train.py" in message


def test_registered_lists_name_only_this_projects_trainers(caltech_root, tmp_path):
    class LAMMDG:  # as one of Dassl's own trainers (a close name, to be left out of "did you mean")
        __module__ = "dassl.engine.dg.lammdg"

    TRAINER_REGISTRY.register(LAMMDG)
    try:
        with pytest.raises(ConfigError) as raised:
            train.setup_cfg(train_args(caltech_root, tmp_path, trainer="LAM"))
    finally:
        del TRAINER_REGISTRY._obj_map["LAMMDG"]
    assert "Did you mean LAMM" in str(raised.value) and "LAMMDG" not in str(raised.value)
    assert str(raised.value).endswith("Registered: CoOp, CoOpLAMM, LAMM, MaPLe, MaPLeLAMM, ZeroshotCLIP.")


@pytest.mark.parametrize("opts, message", [
    (["OPTIM.LR", "-0.01"], r"OPTIM.LR must be > 0, got -0.01"),
    (["OPTIM.LR", "0"], r"OPTIM.LR must be > 0"),
    (["OPTIM.WEIGHT_DECAY", "-1e-4"], r"OPTIM.WEIGHT_DECAY must be >= 0"),
    (["OPTIM.MOMENTUM", "1.5"], r"OPTIM.MOMENTUM must be < 1"),
    (["DATALOADER.NUM_WORKERS", "-1"], r"DATALOADER.NUM_WORKERS must be >= 0"),
    (["TRAINER.LAMM.LAMBDA_KD", "-0.05"], r"TRAINER.LAMM.LAMBDA_KD must be >= 0"),
    (["TRAINER.LAMM.KD_TEMPERATURE", "0.0"], r"TRAINER.LAMM.KD_TEMPERATURE must be > 0"),
    (["TRAINER.MAPLE.PROMPT_DEPTH", "0"], r"TRAINER.MAPLE.PROMPT_DEPTH must be >= 1"),
    (["RUN.PROTOCOL", "few-shot"], r"RUN.PROTOCOL must be empty \(derived\) or one of fewshot, base2new"),
    (["TRAINER.MEMORY.TEXT_CHECKPOINTING", "yes"], r"TEXT_CHECKPOINTING must be one of auto, on, off, got 'yes'"),
    (["TRAINER.MEMORY.RETURN_FREED_MEMORY", "always"], r"RETURN_FREED_MEMORY must be one of auto, on, off"),
])
def test_impossible_values_are_errors(opts, message, caltech_root, tmp_path):
    with pytest.raises(ConfigError, match=message):
        train.setup_cfg(train_args(caltech_root, tmp_path, opts=opts))


def test_an_output_folder_name_too_long_for_the_file_system_suggests_tag(caltech_root, tiny_clip_file, tmp_path):
    output = tmp_path / ("vit_b16_ep50_ctxv1_16shots_" + "TRAINER.LAMM.LAMBDA_WC-1.0-" * 12) / "seed1"
    with pytest.raises(ConfigError, match=r"more than the file system allows \(\d+\).*TAG"):
        preflight(caltech_root, output, opts=tiny_opts(tiny_clip_file))
    assert not os.path.exists(output.parent)  # (pathlib cannot even ask about such a name)


def test_zeroshot_clip_without_eval_only_is_refused_before_it_starts(caltech_root, tmp_path):
    with pytest.raises(ConfigError, match="ZeroshotCLIP has nothing to train; run it with --eval-only"):
        preflight(caltech_root, tmp_path / "zs", trainer="ZeroshotCLIP", config="configs/trainers/ZeroshotCLIP/vit_b16.yaml")
    assert not (tmp_path / "zs").exists()

"""train.py: a run's life (its record, reruns of its folder, eval-only runs) and every error it gives
before anything is written, through its command line run in this process (``tests.fixtures.run_train``;
tests/e2e run it as a process)."""
import os
import re
import shutil

import pytest
import yaml
from dassl.engine import TRAINER_REGISTRY, build_trainer

import train
from lamm.errors import CheckpointNotFoundError, ConfigError
from lamm.run_record import config_fingerprint, read_record
from tests.fixtures import MAPLE_TINY, REPO_ROOT, run_train, tiny_opts, train_args, trainer_config

CONFIG = "configs/trainers/LAMM/vit_b16_ep50_ctxv1_4shots.yaml"
DATASET_CONFIG = "configs/datasets/caltech101.yaml"


def flags(root, output, trainer="LAMM", config=CONFIG):
    return ["--root", str(root), "--seed", "1", "--trainer", trainer, "--dataset-config-file", DATASET_CONFIG,
            "--config-file", config, "--output-dir", str(output)]


def preflight(*args, **kwargs):
    parsed = train_args(*args, **kwargs)
    cfg = train.setup_cfg(parsed)
    train.preflight(cfg, parsed)
    return cfg


# ---------------------------------------------------------------- the record

def test_the_record_says_what_the_run_is(lamm_run, tiny_clip_file):
    record = read_record(str(lamm_run))
    assert record["record_version"] == 2 and record["method"] == record["trainer"] == "LAMM"
    assert record["protocol"] == "fewshot" and record["variant"] == "" and record["stage"] is None
    assert record["eval_set"] is None and record["source_dataset"] is None and record["train_classes"] == "all"
    assert record["eval_only"] is False and record["untrained"] is False and record["checkpoint"] is None
    assert record["loss"] == {"ce": 1.0, "wc": 0.25, "cos": 1.0, "kd": 0.05}  # λ1 = 1/4 at 4 shots
    assert record["labels"] == {"tokens": "shortest", "init": "word"} and record["preset"] == "default"
    assert record["overrides"] == tiny_opts(tiny_clip_file)
    assert record["classnames"] and len(record["classnames"]) == record["num_classes"] == 4
    saved_config = yaml.safe_load((lamm_run / "config.yaml").read_text())
    assert record["config_fingerprint"] == config_fingerprint(saved_config)
    assert record["time_s"]["train"] > 0 and record["time_s"]["test"] > 0
    assert record["peak_memory_gb"]["device"] == "cpu" and record["peak_memory_gb"]["train"] > 0.01
    assert record["peak_memory_gb"]["test"] >= record["peak_memory_gb"]["train"]  # CPU: the process's peak so far
    if (REPO_ROOT / ".git").exists():
        assert len(record["code_version"]["commit"]) == 40


def test_eval_only_without_a_model_is_recorded_as_untrained(caltech_root, tiny_clip_file, tmp_path):
    run_train(*flags(caltech_root, tmp_path / "zero"), "--eval-only", *tiny_opts(tiny_clip_file))
    record = read_record(str(tmp_path / "zero"))
    assert record["eval_only"] is True and record["untrained"] is True and record["epoch"] == 0
    assert record["time_s"]["train"] is None and record["checkpoint"] is None
    assert (tmp_path / "zero" / "config.yaml").read_text().startswith("# train.py run: eval-only")


def test_an_eval_only_record_names_the_checkpoint_it_evaluated(lamm_run, caltech_root, tiny_clip_file, tmp_path):
    args = train_args(caltech_root, tmp_path / "eval", opts=tiny_opts(tiny_clip_file, "RUN.EVAL_SET", "all",
                                                                      "RUN.SOURCE_DATASET", "caltech101"),
                      eval_only=True, model_dir=lamm_run, load_epoch=2)
    trainer = build_trainer(train.setup_cfg(args))
    trainer.set_run_args(args.eval_only, args.model_dir, args.opts)
    trainer.load_model(args.model_dir, epoch=2)
    trainer.test()
    record = read_record(str(tmp_path / "eval"))
    assert record["eval_only"] is True and record["untrained"] is False and record["epoch"] == 2
    assert record["checkpoint"] == {"run_dir": str(lamm_run), "epoch": 2,
                                    "file": str(lamm_run / "prompt_learner" / "model.pth.tar-2")}
    assert record["accuracy"] == read_record(str(lamm_run))["accuracy"]
    assert record["eval_set"] == "all" and record["source_dataset"] == "caltech101"
    assert record["time_s"]["train"] is None and record["peak_memory_gb"]["train"] is None
    assert record["config_fingerprint"] == read_record(str(lamm_run))["config_fingerprint"]  # RUN.* are labels


# ---------------------------------------------------------------- reruns of a run folder

def test_a_rerun_with_the_same_config_passes(lamm_run, caltech_root, tiny_clip_file):
    preflight(caltech_root, lamm_run, opts=tiny_opts(tiny_clip_file, "DATALOADER.NUM_WORKERS", "1"))


@pytest.mark.parametrize("extra, seed, named", [
    (["OPTIM.LR", "0.01"], 1, "OPTIM.LR: 0.002 -> 0.01"),
    (["OPTIM.MAX_EPOCH", "3"], 1, "OPTIM.MAX_EPOCH: 2 -> 3"),
    ([], 2, "SEED: 1 -> 2"),
])
def test_a_rerun_of_another_config_names_what_changed_and_the_ways_out(extra, seed, named, lamm_run, caltech_root,
                                                                        tiny_clip_file):
    before = (lamm_run / "config.yaml").read_text()
    with pytest.raises(ConfigError) as raised:
        preflight(caltech_root, lamm_run, seed=seed, opts=tiny_opts(tiny_clip_file, *extra))
    message = str(raised.value)
    assert named in message and "another --output-dir" in message and "TAG" in message and "--restart" in message
    assert (lamm_run / "config.yaml").read_text() == before  # not rewritten


def test_restart_clears_the_old_run(lamm_run, caltech_root, tiny_clip_file, tmp_path):
    copy = tmp_path / "seed1"
    shutil.copytree(lamm_run, copy)
    preflight(caltech_root, copy, opts=tiny_opts(tiny_clip_file, "OPTIM.LR", "0.01"), restart=True)
    train.clear_run_folder(str(copy))
    assert sorted(os.listdir(copy)) == [".lock"]  # checkpoints, record, config, env, log, tensorboard gone


def test_eval_only_never_writes_into_a_training_run(lamm_run, caltech_root, tiny_clip_file):
    with pytest.raises(ConfigError, match=r"holds a training run.*--output-dir .*caltech101/LAMM/eval/seed1"):
        preflight(caltech_root, lamm_run, opts=tiny_opts(tiny_clip_file), eval_only=True, model_dir=lamm_run)


def test_training_never_writes_into_an_eval_only_run(caltech_root, tiny_clip_file, tmp_path):
    folder = tmp_path / "eval"
    folder.mkdir()
    (folder / "config.yaml").write_text("# train.py run: eval-only\nSEED: 1\n")
    with pytest.raises(ConfigError, match="holds an eval-only run"):
        preflight(caltech_root, folder, opts=tiny_opts(tiny_clip_file))


# ---------------------------------------------------------------- checkpoints


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
def test_model_dir_and_load_epoch_mistakes_say_the_right_path(model_dir, epoch, message, lamm_run, caltech_root,
                                                              tiny_clip_file, tmp_path):
    extra = {"load_epoch": epoch} if epoch else {}
    with pytest.raises(CheckpointNotFoundError, match=message):
        preflight(caltech_root, tmp_path / "eval", opts=tiny_opts(tiny_clip_file), eval_only=True,
                  model_dir=os.path.normpath(lamm_run / model_dir) if model_dir else lamm_run, **extra)
    assert not (tmp_path / "eval").exists()


# ---------------------------------------------------------------- configs


# ---------------------------------------------------------------- errors before anything is written

def test_no_arguments_is_a_usage_error_with_this_projects_trainers():
    with pytest.raises(ConfigError) as raised:
        train.setup_cfg(train.build_parser().parse_args([]))
    message = str(raised.value)
    assert message.startswith("No trainer given (--trainer; one of CoCoOp, CoCoOpLAMM, CoOp, CoOpLAMM, LAMM, MaPLe, "
                              "MaPLeLAMM, ZeroshotCLIP)")
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
    assert str(raised.value).endswith("Registered: CoCoOp, CoCoOpLAMM, CoOp, CoOpLAMM, LAMM, MaPLe, MaPLeLAMM, ZeroshotCLIP.")


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


def test_train_py_reports_a_preset_conflict_in_one_line(caltech_root, tiny_clip_file, tmp_path):
    output = tmp_path / "run"
    code, text = run_train(
        "--root", caltech_root, "--output-dir", str(output), "--trainer", "MaPLeLAMM",
        "--dataset-config-file", "configs/datasets/caltech101.yaml", "--config-file", trainer_config("MaPLeLAMM"),
        *tiny_opts(tiny_clip_file, *MAPLE_TINY, "TRAINER.LAMM.PRESET", "official", "TRAINER.LAMM.LAMBDA_WC", "0.25"),
        check=False)
    assert code == 2 and "Traceback" not in text
    assert "error: TRAINER.LAMM.PRESET official sets TRAINER.LAMM.LAMBDA_WC to 1.0" in text
    assert not output.exists()


@pytest.mark.parametrize("workers", ["0", "1"])
def test_a_corrupt_image_is_named(workers, caltech_root, tiny_clip_file, tmp_path):
    root = tmp_path / "data"
    shutil.copytree(caltech_root, root)
    images = sorted((root / "caltech-101" / "101_ObjectCategories").rglob("*.jpg"))
    for image in images:
        image.write_bytes(b"not a jpeg")  # every image, so whichever the loader reads first is bad
    opts = tiny_opts(tiny_clip_file, "DATALOADER.NUM_WORKERS", workers)
    code, output = run_train(*flags(root, tmp_path / "run"), *opts, check=False)
    assert code == 2, output[-2000:]
    assert "error: Cannot read image" in output and "corrupt" in output
    assert "Traceback" not in output


@pytest.mark.parametrize("opts, message", [
    (["DATASET.NUM_SHOTS", "0"], r"DATASET.NUM_SHOTS must be a number of images per class"),
    (["OPTIM.MAX_EPOCH", "0"], r"OPTIM.MAX_EPOCH must be >= 1"),
])
def test_impossible_values_are_rejected_before_anything_runs(opts, message, caltech_root, tiny_clip_file, tmp_path):
    code, output = run_train(*flags(caltech_root, tmp_path / "run"), *tiny_opts(tiny_clip_file, *opts), check=False)
    assert code == 2 and re.search(message, output), output[-2000:]
    assert not (tmp_path / "run").exists()  # nothing is written before the checks pass


@pytest.mark.parametrize("change, message", [
    (["TRAINER.LAMM.LAMDA_WC", "1.0"], r"Unknown config key TRAINER.LAMM.LAMDA_WC .*Did you mean TRAINER.LAMM.LAMBDA_WC"),
    (["OPTIM.MAX_EPOCH", "2.5"], r"Invalid value in the command-line options"),
    (["--trainer", "LAM"], r"Unknown trainer 'LAM' \(--trainer\)\. Did you mean LAMM"),
    (["--config-file", "configs/trainers/LAMM/vit_b16.yaml"], r"Config file not found: .*Files in .*vit_b16_ep50_ctxv1_16shots.yaml"),
    (["INPUT.SIZE", "(224, 224)"], r"INPUT.SIZE \(224, 224\) does not match .* \(32\)"),
    (["--root", "/nonexistent/data"], r"dataset root /nonexistent/data does not exist.*python -m datasets.prepare caltech101 --root /nonexistent/data"),
    (["TRAINER.COOP.PREC", "fp8"], r"Unknown precision 'fp8'"),
])
def test_bad_input_is_one_clear_message(change, message, caltech_root, tiny_clip_file, tmp_path):
    flags = {"--root": caltech_root, "--seed": "1", "--trainer": "LAMM", "--dataset-config-file": DATASET_CONFIG,
             "--config-file": CONFIG, "--output-dir": str(tmp_path / "bad")}
    opts = tiny_opts(tiny_clip_file)
    if change[0].startswith("--"):
        flags[change[0]] = change[1]
    else:
        opts += change
    code, output = run_train(*[x for pair in flags.items() for x in pair], *opts, check=False)
    assert code == 2, output[-3000:]
    assert re.search(message, output), output[-3000:]
    assert "Traceback" not in output


def test_unknown_dataset_and_missing_split_file(caltech_root, tiny_clip_file, tmp_path):
    bad_dataset = tmp_path / "caltech.yaml"
    bad_dataset.write_text('DATASET:\n  NAME: "Caltech"\n')
    code, output = run_train("--root", caltech_root, "--trainer", "LAMM", "--dataset-config-file", str(bad_dataset),
                             "--config-file", CONFIG, "--output-dir", str(tmp_path / "x"), *tiny_opts(tiny_clip_file),
                             check=False)
    assert code == 2 and "Unknown dataset 'Caltech'" in output and "Did you mean Caltech101" in output

    root = tmp_path / "data"
    shutil.copytree(caltech_root, root)
    (root / "caltech-101" / "split_zhou_Caltech101.json").unlink()
    code, output = run_train("--root", str(root), "--trainer", "LAMM", "--dataset-config-file", DATASET_CONFIG,
                             "--config-file", CONFIG, "--output-dir", str(tmp_path / "y"), *tiny_opts(tiny_clip_file),
                             check=False)
    # Caught before anything is written, with the command that fetches the split file.
    assert code == 2 and "split_zhou_Caltech101.json" in output and "python -m datasets.prepare caltech101" in output
    assert "Traceback" not in output and not (tmp_path / "y").exists()

"""train.py: a run's life (its record, reruns of its folder, eval-only runs) and every error it gives
before anything is written, through its command line run in this process (``tests.fixtures.run_train``;
tests/e2e run it as a process)."""
import os
import re
import shutil
import sys

import pytest
import yaml
from dassl.engine import TRAINER_REGISTRY, build_trainer

import train
from lamm.errors import CheckpointNotFoundError, ConfigError
from trainers.record import RECORD_VERSION, config_fingerprint, read_record
from tests.fixtures import MAPLE_TINY, REPO_ROOT, run_in_process, run_train, tiny_opts, train_args, trainer_config

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
    assert record["record_version"] == RECORD_VERSION and record["method"] == record["trainer"] == "LAMM"
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


# ---------------------------------------------------------------- what a run shows

def test_the_terminal_shows_the_run_its_progress_and_result_and_log_txt_keeps_every_line(caltech_root,
                                                                                       tiny_clip_file, tmp_path):
    opts = [o for o in tiny_opts(tiny_clip_file) if o not in ("TRAINER.COOP.PREC", "fp32")]  # the config's fp16
    code, out, err = run_in_process(train.cli, *flags(caltech_root, tmp_path / "run"), *opts, streams=True)
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0] == "LAMM on Caltech101, 4 shots, seed 1: training, 2 epochs"
    assert "  backbone " in lines[2] and "on the CPU, precision fp32 (fp16 is for the GPU; the CPU runs fp32)" in lines[2]
    assert sum(line.startswith("epoch [") for line in lines) == 4 and "* accuracy: " in out
    assert len(lines) < 25, out
    for noise in ("** Config **", "** Arguments **", "System info", "Loading trainer", "Building transform_train"):
        assert noise not in out
    assert "Precision" not in err and "Warning" not in err
    log = (tmp_path / "run" / "log.txt").read_text()
    for line in ("** Arguments **", "** Config **", "** System info **", "Loading trainer: LAMM", "Building transform_train",
                 "# classes  4", "Finish training", "* accuracy: "):
        assert line in log
    assert (tmp_path / "run" / "env.txt").read_text().strip() in log


@pytest.mark.parametrize("switch", ["--verbose", "LAMM_VERBOSE=1"])
def test_verbose_shows_the_full_config_and_environment(switch, caltech_root, tiny_clip_file, tmp_path, monkeypatch):
    if switch.startswith("LAMM_VERBOSE"):
        monkeypatch.setenv("LAMM_VERBOSE", "1")
    extra = ["--verbose"] if switch.startswith("--") else []
    code, out = run_train(*flags(caltech_root, tmp_path / "run"), "--eval-only", *extra, *tiny_opts(tiny_clip_file))
    assert "** Config **" in out and "** System info **" in out and "Loading trainer: LAMM" in out


def test_seed_0_is_a_fixed_seed_and_recorded(caltech_root, tiny_clip_file, tmp_path):
    argv = [a if a != "1" else "0" for a in flags(caltech_root, tmp_path / "run")]  # --seed 0
    run_train(*argv, "--eval-only", *tiny_opts(tiny_clip_file))
    assert read_record(str(tmp_path / "run"))["seed"] == 0
    assert yaml.safe_load((tmp_path / "run" / "config.yaml").read_text())["SEED"] == 0


@pytest.mark.parametrize("seed", ["-2", "4294967296", "one"])
def test_an_impossible_seed_is_a_usage_error(seed, caltech_root, tmp_path):
    argv = flags(caltech_root, tmp_path / "run")
    argv[argv.index("--seed") + 1] = seed
    code, output = run_train(*argv, check=False)
    assert code == 2 and "argument --seed:" in output and "Traceback" not in output
    assert not (tmp_path / "run").exists()


def test_an_output_folder_that_cannot_be_written_is_one_error_line(caltech_root, tiny_clip_file, tmp_path):
    from tests.trainers.test_run_folder import read_only_folder

    output = read_only_folder(tmp_path) / "caltech101" / "seed1"
    code, out, err = run_in_process(train.cli, *flags(caltech_root, output), *tiny_opts(tiny_clip_file), check=False,
                                    streams=True)
    assert code == 2 and "Traceback" not in err
    assert err.startswith(f"error: --output-dir {output}: cannot write in ") and len(err.splitlines()) == 1


def test_without_dassl_train_py_says_how_to_install_it(caltech_root, tmp_path, monkeypatch):
    for name in ("dassl", "dassl.config"):
        monkeypatch.setitem(sys.modules, name, None)  # as if not installed
    code, out, err = run_in_process(train.cli, *flags(caltech_root, tmp_path / "run"), check=False, streams=True)
    assert code == 2 and err.startswith("error: Dassl is not installed") and "install.sh" in err


def test_no_more_loader_workers_than_cpus_and_no_warning_about_them(caltech_root, tiny_clip_file, tmp_path):
    import warnings

    cpus = len(os.sched_getaffinity(0))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        run_train(*flags(caltech_root, tmp_path / "run"), "--eval-only",
                  *tiny_opts(tiny_clip_file, "DATALOADER.NUM_WORKERS", "64"))
    assert not [w for w in caught if "worker" in str(w.message)], [str(w.message) for w in caught]
    assert yaml.safe_load((tmp_path / "run" / "config.yaml").read_text())["DATALOADER"]["NUM_WORKERS"] == min(64, cpus)


@pytest.mark.parametrize("extra, message", [
    (["--model-dir", "{run}"], r"--model-dir and --load-epoch choose what an --eval-only run evaluates; add --eval-only"),
    (["--load-epoch", "2"], r"--model-dir and --load-epoch choose what an --eval-only run evaluates"),
    (["--eval-only", "--load-epoch", "2"], r"--load-epoch 2 needs --model-dir, the training run"),
    (["--eval-only", "--model-dir", "{run}", "--load-epoch", "0"], r"argument --load-epoch: 0: epochs count from 1"),
    (["--resume", "{file}"], r"--resume .*config.yaml is a file, not a folder"),
])
def test_flags_that_would_be_ignored_or_misread_are_errors(extra, message, lamm_run, caltech_root, tiny_clip_file,
                                                           tmp_path):
    extra = [e.format(run=lamm_run, file=lamm_run / "config.yaml") for e in extra]
    code, output = run_train(*flags(caltech_root, tmp_path / "run"), *extra, *tiny_opts(tiny_clip_file), check=False)
    assert code == 2 and re.search(message, output), output[-2000:]
    assert "Traceback" not in output and not (tmp_path / "run").exists()

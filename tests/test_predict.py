"""predict.py: the run's own model on your images; on the test split it gives the run's accuracy."""
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

import predict
from lamm.errors import ConfigError
from tests.fixtures import run_tool
from tests.trained_runs import predict_data, split_test_images, trained_run, unfinished_copy  # noqa: F401
from trainers.methods import METHODS


def predict_json(capsys, run, paths, *flags):
    capsys.readouterr()
    predict.main(["--model-dir", str(run), "--format", "json", *flags, *map(str, paths)])
    return json.loads(capsys.readouterr().out)["images"]


@pytest.mark.parametrize("trainer", list(METHODS))
def test_predicting_the_test_split_gives_the_recorded_accuracy(trainer, trained_run, predict_data, capsys):
    run = trained_run(trainer)
    images = split_test_images(predict_data)
    results = predict_json(capsys, run, [path for path, _ in images], "--topk", "3", "--batch-size", "7")
    assert [r["image"] for r in results] == [path for path, _ in images]
    correct = sum(r["predictions"][0]["index"] == label for r, (_, label) in zip(results, images))
    recorded = json.loads((run / "results.json").read_text())["accuracy"]
    assert 100.0 * correct / len(images) == recorded
    for r in results:
        probabilities = [p["probability"] for p in r["predictions"]]
        assert len(probabilities) == 3 and probabilities == sorted(probabilities, reverse=True)
        assert 0 < sum(probabilities) <= 1 + 1e-6


def test_the_test_transform_is_dassls(trained_run):
    from dassl.data.transforms import build_transform

    from lamm.preprocess import build_test_transform, test_preprocessing
    from trainers.from_run import load_run_config

    cfg = load_run_config(str(trained_run("LAMM")))
    cfg.defrost()
    cfg.INPUT.SIZE = (224, 224)  # a real size, from an image of another shape: resize and crop both act
    image = Image.fromarray(np.random.default_rng(0).integers(0, 256, (181, 301, 3), dtype=np.uint8))
    ours = build_test_transform(test_preprocessing(cfg.INPUT))(image)
    assert ours.shape == (3, 224, 224)
    assert torch.equal(ours, build_transform(cfg, is_train=False)(image))


def test_folders_are_walked_and_unreadable_files_named_and_skipped(trained_run, predict_data, tmp_path):
    folder = tmp_path / "photos"
    (folder / "a" / "b").mkdir(parents=True)
    (first, _), (second, _) = split_test_images(predict_data)[:2]
    shutil.copy(first, folder / "a" / "one.jpg")
    shutil.copy(second, folder / "a" / "b" / "two.PNG")  # the extension is matched case-blind, PIL reads it anyway
    (folder / "a" / "broken.jpg").write_bytes(b"not an image")
    (folder / "notes.txt").write_text("ignored")
    code, output = run_tool(predict.main, "--model-dir", str(trained_run("LAMM")), "--format", "csv", "--topk", "2",
                            str(folder))
    assert code == 0 and "Traceback" not in output
    assert f"skipped {folder / 'a' / 'broken.jpg'}: not a readable image" in output
    rows = [line.split(",") for line in output.splitlines() if line.startswith(str(folder))]
    assert [(row[0], row[1]) for row in rows] == [(str(folder / "a" / "one.jpg"), "1"),
                                                  (str(folder / "a" / "one.jpg"), "2"),
                                                  (str(folder / "a" / "b" / "two.PNG"), "1"),
                                                  (str(folder / "a" / "b" / "two.PNG"), "2")]
    assert "notes.txt" not in output


def test_the_table_names_classes_and_percentages(trained_run, predict_data, capsys):
    path, _ = split_test_images(predict_data)[0]
    capsys.readouterr()
    predict.main(["--model-dir", str(trained_run("CoOp")), "--topk", "2", path])
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == path and lines[1].startswith("  1. ") and lines[1].endswith("%") and lines[2].startswith("  2. ")


def test_class_names_come_from_the_record_when_the_checkpoint_has_none(trained_run, predict_data, tmp_path, capsys):
    run = tmp_path / "run"
    shutil.copytree(trained_run("LAMM"), run)
    checkpoint = run / "prompt_learner" / "model.pth.tar-2"
    state = torch.load(checkpoint, weights_only=True)
    state.pop("meta", None)
    torch.save(state, checkpoint)
    # The data is gone, so the names can only come from the record.
    config = (run / "config.yaml").read_text().replace(predict_data, str(tmp_path / "gone"))
    (run / "config.yaml").write_text(config)
    split = json.loads((Path(predict_data) / "caltech-101" / "split_zhou_Caltech101.json").read_text())
    names = [name for _, name in sorted({(label, name) for _, label, name in split["test"]})]
    record = json.loads((run / "results.json").read_text())
    (run / "results.json").write_text(json.dumps(dict(record, classnames=names)))
    path, label = split_test_images(predict_data)[0]
    (result,) = predict_json(capsys, run, [path], "--topk", "5")
    assert sorted(p["class"] for p in result["predictions"]) == sorted(names)
    assert all(names[p["index"]] == p["class"] for p in result["predictions"])

    (run / "results.json").unlink()  # no names anywhere and no data: one clear message
    code, output = run_tool(predict.main, "--model-dir", str(run), path, check=False)
    assert code == 2 and "Traceback" not in output
    assert "names no classes" in output and "could not be read from DATASET.ROOT" in output


@pytest.mark.parametrize("args, message", [
    (["{run}", "/no/such/image.jpg"], r"error: /no/such/image.jpg: no such file or folder"),
    (["{empty}", "{image}"], r"error: .* is not a run folder: it has no config.yaml"),
    (["{run}", "--load-epoch", "7", "{image}"], r"error: .*no LAMM checkpoint .*model.pth.tar-7 \(--load-epoch\)"),
    (["{run}", "--topk", "0", "{image}"], r"error: --topk must be at least 1"),
    (["{run}", "{bad}"], r"error: none of the 1 files could be read as an image"),
    (["{run}", "--device", "tpu", "{image}"], r"error: --device tpu: predict.py runs on cpu or cuda \(cuda:N for"),
    (["{run}", "--device", "cuda:x", "{image}"], r"error: --device cuda:x: predict.py runs on cpu or cuda"),
    (["{run}", "--device", "meta", "{image}"], r"error: --device meta: predict.py runs on cpu or cuda"),
])
def test_bad_input_is_one_error_line(args, message, trained_run, predict_data, tmp_path):
    import re

    (tmp_path / "empty").mkdir()
    (tmp_path / "bad.jpg").write_text("no")
    values = {"run": str(trained_run("LAMM")), "empty": str(tmp_path / "empty"), "bad": str(tmp_path / "bad.jpg"),
              "image": split_test_images(predict_data)[0][0]}
    args = [a.format(**values) for a in args]
    code, output = run_tool(predict.main, "--model-dir", *args, check=False)
    assert code == 2 and "Traceback" not in output, output[-2000:]
    assert re.search(message, output), output[-2000:]


def test_an_unfinished_run_is_named_in_a_warning_and_in_the_json(trained_run, predict_data, tmp_path):
    path, _ = split_test_images(predict_data)[0]
    run = unfinished_copy(trained_run("LAMM"), tmp_path)
    code, out, err = run_tool(predict.main, "--model-dir", run, "--format", "json", path, streams=True)
    assert code == 0
    assert f"warning: {run} is an unfinished run: its training stopped at epoch 2 of 6 (OPTIM.MAX_EPOCH)" in err
    result = json.loads(out)
    assert (result["epoch"], result["epochs_trained"], result["max_epoch"], result["finished"]) == (2, 2, 6, False)
    assert result["trainer"] == "LAMM" and result["run"] == str(run) and len(result["images"]) == 1

    code, out, err = run_tool(predict.main, "--model-dir", trained_run("LAMM"), "--format", "json", path, streams=True)
    assert "unfinished" not in err and json.loads(out)["finished"] is True and json.loads(out)["max_epoch"] == 2


def test_a_cuda_device_this_machine_lacks_is_one_error_line(trained_run, predict_data, monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)  # one GPU, as predict.py sees it
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    assert predict.resolve_device(None) == "cuda" and predict.resolve_device("cuda:0") == "cuda:0"
    code, output = run_tool(predict.main, "--model-dir", trained_run("LAMM"), "--device", "cuda:3",
                            split_test_images(predict_data)[0][0], check=False)
    assert code == 2 and "error: --device cuda:3: this machine has 1 CUDA device(s), cuda:0 to cuda:0." in output
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert predict.resolve_device(None) == "cpu" and predict.resolve_device("cpu") == "cpu"
    with pytest.raises(ConfigError, match="no CUDA device is available here; use --device cpu"):
        predict.resolve_device("cuda")


def copy_of(run, tmp_path, name="run"):
    copy = tmp_path / name
    shutil.copytree(run, copy)
    return copy


@pytest.mark.parametrize("case, message", [
    ("checkpoint_folder", "error: {run}/prompt_learner is not a run folder: it has no config.yaml; it is a run's "
                          "checkpoint folder: give the run folder above it, {run}."),
    ("folder_of_runs", "error: {tmp} is not a run folder: it has no config.yaml; it holds runs (other/run, run): "
                       "give one of them, e.g. {tmp}/other/run."),
    ("coop_repository_run", "error: {run} is not a run folder: it has no config.yaml; it holds checkpoints "
                            "(prompt_learner/) but not the config that train.py writes, as runs of the CoOp, MaPLe or "
                            "official LAMM code do. Evaluate them with train.py --eval-only --model-dir {run} and"),
    ("config_not_yaml", "error: {run}/config.yaml cannot be read as a run's config ("),
    ("config_without_trainer", "error: {run}/config.yaml names no trainer (TRAINER.NAME): it is not the config.yaml "
                               "that train.py writes."),
    ("corrupt_checkpoint", "error: {run}: its checkpoint {run}/prompt_learner/model.pth.tar-2 cannot be read ("),
    ("empty_checkpoint", "error: {run}: its checkpoint {run}/prompt_learner/model.pth.tar-2 cannot be read (empty: 0 "
                         "bytes): the file is truncated or corrupt; restore it from a copy or rerun the training."),
    ("no_checkpoint", "error: {run}: no LAMM checkpoint in {run}/prompt_learner: the run saved none"),
    ("epoch_not_saved", "error: {run}: no LAMM checkpoint {run}/prompt_learner/model.pth.tar-1 (--load-epoch); "
                        "epochs present: 2."),
    ("backbone_gone", "error: {run} was trained on the CLIP file {tmp}/gone/tiny_clip_jit.pt (MODEL.BACKBONE.NAME in "
                      "its config.yaml), which is not there any more: put the file back at that path to use this run."),
])
def test_a_foreign_or_damaged_run_is_one_error_line_that_says_what_to_do(case, message, trained_run, predict_data,
                                                                        tmp_path):
    run = copy_of(trained_run("LAMM"), tmp_path)
    model_dir, flags = run, []
    checkpoint = run / "prompt_learner" / "model.pth.tar-2"
    if case == "checkpoint_folder":
        model_dir = run / "prompt_learner"
    elif case == "folder_of_runs":
        copy_of(run, tmp_path, "other/run")
        model_dir = tmp_path
    elif case == "coop_repository_run":  # checkpoints and log.txt only
        (run / "config.yaml").unlink()
    elif case == "config_not_yaml":
        (run / "config.yaml").write_text("TRAINER: [unclosed\n")
    elif case == "config_without_trainer":
        (run / "config.yaml").write_text("SEED: 1\n")
    elif case == "corrupt_checkpoint":
        checkpoint.write_bytes(checkpoint.read_bytes()[:300])
    elif case == "empty_checkpoint":
        checkpoint.write_bytes(b"")
    elif case == "no_checkpoint":
        shutil.rmtree(run / "prompt_learner")
    elif case == "epoch_not_saved":
        flags = ["--load-epoch", "1"]
    elif case == "backbone_gone":
        config = (run / "config.yaml").read_text()
        backbone = next(line.split(": ", 1)[1] for line in config.splitlines() if line.strip().startswith("NAME: /"))
        (run / "config.yaml").write_text(config.replace(backbone, str(tmp_path / "gone" / "tiny_clip_jit.pt")))
    code, output = run_tool(predict.main, "--model-dir", model_dir, *flags, split_test_images(predict_data)[0][0],
                            check=False)
    assert code == 2 and "Traceback" not in output, output[-2000:]
    assert message.format(run=run, tmp=tmp_path) in output, output[-2000:]
    assert "--restart" not in output and "Predict with" not in output  # advice for training, or for one command


def test_an_image_too_large_to_decode_is_named_and_skipped(trained_run, predict_data, tmp_path):
    from PIL import Image

    huge = tmp_path / "huge.png"
    Image.new("1", (20000, 10000)).save(huge)  # 200 M pixels in a 24 kB file: PIL refuses to decode it
    path = split_test_images(predict_data)[0][0]
    code, output = run_tool(predict.main, "--model-dir", trained_run("LAMM"), "--topk", "1", str(huge), path)
    assert code == 0 and "Traceback" not in output
    assert f"skipped {huge}: too large to decode safely (over {Image.MAX_IMAGE_PIXELS} pixels); resize it" in output
    assert path in output


def test_an_eval_only_run_names_the_run_it_evaluated(trained_run, predict_data, tmp_path):
    from tests.fixtures import run_train, tiny_opts, trainer_config
    from trainers.from_run import load_run_config

    run = trained_run("LAMM")
    backbone = load_run_config(str(run)).MODEL.BACKBONE.NAME
    evaluation = tmp_path / "eval"
    run_train("--root", predict_data, "--seed", "1", "--trainer", "LAMM", "--dataset-config-file",
              "configs/datasets/caltech101.yaml", "--config-file", trainer_config("LAMM"), "--output-dir", evaluation,
              "--eval-only", "--model-dir", run, *tiny_opts(backbone))
    code, output = run_tool(predict.main, "--model-dir", evaluation, split_test_images(predict_data)[0][0], check=False)
    assert code == 2 and "Traceback" not in output
    assert f"error: {evaluation} is an evaluation (--eval-only) of the run {run}, and holds no checkpoint: give that " \
           "run instead." in output

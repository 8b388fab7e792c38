"""predict.py: the run's own model on your images; on the test split it gives the run's accuracy."""
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

import predict
from tests.fixtures import run_tool
from tests.trained_runs import predict_data, split_test_images, trained_run  # noqa: F401
from trainers.methods import METHODS


def predict_json(capsys, run, paths, *flags):
    capsys.readouterr()
    predict.main(["--model-dir", str(run), "--format", "json", *flags, *map(str, paths)])
    return json.loads(capsys.readouterr().out)


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

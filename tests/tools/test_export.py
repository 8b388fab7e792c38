"""tools/export: the plain-CLIP recipe of docs/USAGE.md on the exported file gives predict.py's answers."""
import json
import re
import shutil

import pytest
import torch
from safetensors import safe_open

import predict
from tests.fixtures import REPO_ROOT, run_tool
from tests.trained_runs import predict_data, split_test_images, trained_run, unfinished_copy  # noqa: F401
from tools.export import export
from tools.export import main as export_main


def readme_recipe() -> str:
    readme = (REPO_ROOT / "docs" / "USAGE.md").read_text()
    match = re.search(r"<!-- tests/tools/test_export.py runs the next block -->\n```python\n(.*?)```", readme, re.S)
    assert match, "the recipe block is missing from docs/USAGE.md"
    return match.group(1)


@pytest.mark.parametrize("trainer", ["LAMM", "CoOp", "CoOpLAMM", "ZeroshotCLIP"])
def test_the_readme_recipe_on_the_export_equals_predict(trainer, trained_run, predict_data, tmp_path, monkeypatch,
                                                        capsys):
    run = trained_run(trainer)
    description = export(str(run), str(tmp_path / "caltech_lamm"))
    assert description["num_classes"] == 5 and description["trainer"] == trainer
    images = [path for path, _ in split_test_images(predict_data)][::5]
    capsys.readouterr()
    predict.main(["--model-dir", str(run), "--format", "json", "--topk", "5", *images])
    expected = json.loads(capsys.readouterr().out)["images"]
    recipe = readme_recipe()
    monkeypatch.chdir(tmp_path)
    for image, prediction in zip(images, expected):
        shutil.copy(image, tmp_path / "photo.jpg")
        namespace = {}
        exec(compile(recipe, "README recipe", "exec"), namespace)
        probs = namespace["probs"]
        by_index = {p["index"]: p["probability"] for p in prediction["predictions"]}
        torch.testing.assert_close(probs, torch.tensor([by_index[i] for i in range(5)]), atol=1e-5, rtol=1e-4)
        assert int(probs.argmax()) == prediction["predictions"][0]["index"]
    printed = capsys.readouterr().out.splitlines()
    assert printed[-1].startswith(expected[-1]["predictions"][0]["class"] + " ")


def test_the_files_hold_features_names_and_preprocessing(trained_run, tmp_path):
    description = export(str(trained_run("LAMM")), str(tmp_path / "out" / "model.safetensors"))
    with safe_open(str(tmp_path / "out" / "model.safetensors"), "pt") as handle:
        features = handle.get_tensor("text_features")
        assert json.loads(handle.metadata()["description"]) == description
        assert float(handle.get_tensor("logit_scale")) == pytest.approx(description["logit_scale"])
    assert features.shape == (5, 32) and features.dtype == torch.float32
    torch.testing.assert_close(features.norm(dim=-1), torch.ones(5))
    saved = json.loads((tmp_path / "out" / "model.json").read_text())
    assert saved["classnames"] == description["classnames"] and saved["features_file"] == "model.safetensors"
    assert saved["preprocessing"]["center_crop"] == [32, 32] and saved["preprocessing"]["interpolation"] == "bicubic"


@pytest.mark.parametrize("trainer", ["CoCoOp", "CoCoOpLAMM"])
def test_cocoop_runs_are_refused_with_the_reason(trainer, trained_run, tmp_path):
    """CoCoOp's prompts depend on the image: there is no one classifier to write."""
    code, output = run_tool(export_main, trained_run(trainer), tmp_path / "x", check=False)
    assert code == 2 and "Traceback" not in output and output.count("error:") == 1, output
    assert (f"error: {trained_run(trainer)} is a {trainer} run: CoCoOp's prompts depend on each image" in output
            and "Use predict.py for this run." in output)
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize("trainer", ["MaPLe", "MaPLeLAMM"])
def test_maple_runs_are_refused_with_the_reason(trainer, trained_run, tmp_path):
    code, output = run_tool(export_main, trained_run(trainer), tmp_path / "x", check=False)
    assert code == 2 and "Traceback" not in output
    assert f"error: {trained_run(trainer)} is a {trainer} run: MaPLe's prompts also change CLIP's image encoder" in output
    assert not list(tmp_path.iterdir())


def test_an_unfinished_run_is_exported_with_a_warning_and_says_so_in_its_files(trained_run, tmp_path):
    run = unfinished_copy(trained_run("CoOp"), tmp_path)
    code, out, err = run_tool(export_main, run, tmp_path / "coop", streams=True)
    assert code == 0 and f"warning: {run} is an unfinished run: its training stopped at epoch 2 of 6" in err
    saved = json.loads((tmp_path / "coop.json").read_text())
    assert (saved["epoch"], saved["max_epoch"], saved["finished"]) == (2, 6, False)
    with safe_open(str(tmp_path / "coop.safetensors"), "pt") as handle:
        assert json.loads(handle.metadata()["description"])["finished"] is False
    code, out, err = run_tool(export_main, trained_run("CoOp"), tmp_path / "done", streams=True)
    assert "unfinished" not in err and json.loads((tmp_path / "done.json").read_text())["finished"] is True


@pytest.mark.parametrize("case, message", [
    ("folder", "error: OUT {out} is a folder: give the files' path without extension, e.g. {out}/caltech_lamm"),
    ("slash", "error: OUT {out} is a folder: give the files' path without extension"),
    ("parent_is_a_file", "error: OUT {out}.safetensors: {tmp}/notes.txt is a file, not a folder"),
    ("target_is_a_folder", "error: OUT {out}.safetensors is a folder; give a file name"),
    ("read_only", "error: OUT {out}.safetensors: cannot write in {tmp} (no permission or a read-only file system)"),
    ("results_json", "error: OUT {out}: {out}.json exists and is not an export of this tool; choose another name"),
])
def test_a_target_that_cannot_be_written_is_one_error_line_before_the_model_is_built(
        case, message, trained_run, tmp_path, monkeypatch):
    import os

    out = {"folder": tmp_path, "slash": f"{tmp_path}/", "parent_is_a_file": tmp_path / "notes.txt" / "model",
           "target_is_a_folder": tmp_path / "model", "read_only": tmp_path / "model",
           "results_json": tmp_path / "results"}[case]
    (tmp_path / "notes.txt").write_text("notes")
    (tmp_path / "results.json").write_text('{"accuracy": 90.0}')
    if case == "target_is_a_folder":
        (tmp_path / "model.safetensors").mkdir()
    if case == "read_only":  # as for a user without write permission (the tests may run as root)
        monkeypatch.setattr(os, "access", lambda path, mode: False)
    monkeypatch.setattr("trainers.from_run.TrainedModel", None)  # building the model would be a TypeError
    before = sorted(os.listdir(tmp_path))
    code, output = run_tool(export_main, trained_run("LAMM"), out, check=False)
    assert code == 2 and "Traceback" not in output, output[-2000:]
    assert message.format(out=out, tmp=tmp_path) in output
    assert sorted(os.listdir(tmp_path)) == before and (tmp_path / "results.json").read_text() == '{"accuracy": 90.0}'


def test_a_write_that_fails_is_one_error_line_and_a_missing_folder_is_made(trained_run, tmp_path, monkeypatch):
    def refuse(path, write):
        raise OSError(28, "No space left on device")

    with monkeypatch.context() as patch:
        patch.setattr("lamm.files.atomic_write", refuse)
        code, output = run_tool(export_main, trained_run("LAMM"), tmp_path / "model", check=False)
    assert code == 2 and "Traceback" not in output
    assert f"error: OUT {tmp_path / 'model'}: could not be written (No space left on device)" in output
    run_tool(export_main, trained_run("LAMM"), tmp_path / "new" / "folder" / "model")
    assert (tmp_path / "new" / "folder" / "model.json").is_file()
    run_tool(export_main, trained_run("LAMM"), tmp_path / "new" / "folder" / "model")  # an export is replaced

"""tools/export: the plain-CLIP recipe of docs/USAGE.md on the exported file gives predict.py's answers."""
import json
import re
import shutil

import pytest
import torch
from safetensors import safe_open

import predict
from tests.fixtures import REPO_ROOT, run_tool
from tests.trained_runs import predict_data, split_test_images, trained_run  # noqa: F401
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
    expected = json.loads(capsys.readouterr().out)
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


@pytest.mark.parametrize("trainer", ["MaPLe", "MaPLeLAMM"])
def test_maple_runs_are_refused_with_the_reason(trainer, trained_run, tmp_path):
    code, output = run_tool(export_main, trained_run(trainer), tmp_path / "x", check=False)
    assert code == 2 and "Traceback" not in output
    assert f"error: {trained_run(trainer)} is a {trainer} run: MaPLe's prompts also change CLIP's image encoder" in output
    assert not list(tmp_path.iterdir())

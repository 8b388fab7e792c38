"""What a new process does as it starts: the catalog, ``prepare``, ``check``, the preflight and the
run record import without Dassl, torch or clip, and settings are read from the environment.

Each test starts a fresh interpreter (the test process has long imported torch) with the same
PYTHONPATH as the other subprocess tests, so Dassl (or its test double) could be imported if
any of these modules asked for it; the test fails when one does.
"""
import json
import os
import subprocess
import sys

import pytest

from tests.fixtures import REPO_ROOT
from tools.synthetic import data as synthetic_data

pytestmark = pytest.mark.slow  # a real entry point in a new process: run with -m slow or -m "not gpu"

HEAVY = ("torch", "torchvision", "dassl", "clip")
LIGHT_MODULES = ("datasets", "datasets.catalog", "datasets.layout", "datasets.errors", "datasets.prepare",
                 "datasets.prepare.cli", "datasets.prepare.check", "datasets.prepare.preflight",
                 "datasets.prepare.builders", "datasets.prepare.ensure")

REPORT = f"""
import json, sys, time
start = time.perf_counter()
{{body}}
print(json.dumps({{{{"heavy": sorted(m for m in {HEAVY!r} if m in sys.modules), "seconds": time.perf_counter() - start}}}}))
"""


def run_python(body):
    result = subprocess.run([sys.executable, "-c", REPORT.format(body=body)], cwd=REPO_ROOT, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return result, json.loads(result.stdout.strip().splitlines()[-1])


def test_the_light_modules_import_nothing_heavy():
    _, report = run_python("\n".join(f"import {name}" for name in LIGHT_MODULES))
    assert report["heavy"] == []
    assert report["seconds"] < 2.0


def test_prepare_help_and_check_run_without_dassl_or_torch(tmp_path):
    root = str(tmp_path / "data")
    for key in ("caltech101", "fgvc_aircraft", "imagenet", "imagenet_a"):  # every kind of check
        synthetic_data.make(key, root, num_classes=2, train_per_class=2, val_per_class=1, test_per_class=1)
    for argv in (["--help"], ["check", "--root", root], ["check", "caltech101", "imagenet_a", "--root", root,
                                                         "--deep"]):
        body = (
            "import runpy\n"
            f"sys.argv = ['prepare'] + {argv!r}\n"
            "try:\n"
            "    runpy.run_module('datasets.prepare', run_name='__main__', alter_sys=True)\n"
            "except SystemExit as e:\n"
            "    assert e.code in (0, 1, None), e.code\n"
        )
        result, report = run_python(body)
        assert report["heavy"] == [], argv
        assert ("usage: python -m datasets.prepare" if argv == ["--help"] else "Summary:") in result.stdout


def test_build_split_runs_without_dassl_or_torch(tmp_path):
    root = str(tmp_path / "data")
    dataset_dir = synthetic_data.make("dtd", root, num_classes=2, train_per_class=2, val_per_class=1, test_per_class=1)
    os.remove(os.path.join(dataset_dir, "split_zhou_DescribableTextures.json"))
    body = (
        "import runpy\n"
        f"sys.argv = ['prepare', 'dtd', '--build-split', '--no-gdrive', '--root', {root!r}]\n"
        "try:\n"
        "    runpy.run_module('datasets.prepare', run_name='__main__', alter_sys=True)\n"
        "except SystemExit as e:\n"
        "    assert e.code == 0, e.code\n"
    )
    result, report = run_python(body)
    assert report["heavy"] == [] and "building split_zhou_DescribableTextures.json" in result.stdout
    assert os.path.isfile(os.path.join(dataset_dir, "split_zhou_DescribableTextures.json"))


def test_preflight_runs_without_dassl_or_torch(tmp_path):
    body = (
        "from datasets.prepare.preflight import check_dataset_ready\n"
        "from datasets.errors import DatasetNotReadyError\n"
        "try:\n"
        f"    check_dataset_ready('Caltech101', {str(tmp_path)!r})\n"
        "except DatasetNotReadyError as e:\n"
        "    print(e)\n"
    )
    result, report = run_python(body)
    assert report["heavy"] == [] and "python -m datasets.prepare caltech101 --root" in result.stdout


def test_prepare_typo_is_one_error_line_with_a_suggestion():
    result = subprocess.run([sys.executable, "-m", "datasets.prepare", "chek"], cwd=REPO_ROOT, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 2
    assert result.stderr == "error: unknown command or dataset 'chek'; did you mean 'check'?\n"
    assert result.stdout == ""


def test_prepare_into_a_closed_pipe_ends_quietly():
    """``... | head``: the reader may close the pipe before everything is written (here ``true`` reads
    nothing and exits at once); no BrokenPipeError traceback, the exit status of SIGPIPE."""
    command = f"{sys.executable} -m datasets.prepare list | true; echo \"rc=${{PIPESTATUS[0]}}\""
    result = subprocess.run(["bash", "-c", command], cwd=REPO_ROOT, capture_output=True, text=True, timeout=120)
    assert result.stdout.strip() == "rc=141" and result.stderr == ""


def test_the_run_record_imports_without_torch_or_dassl():
    code = "import sys, trainers.record; sys.exit(int(any(m in sys.modules for m in ('torch', 'dassl'))))"
    assert subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT).returncode == 0


def test_the_clip_download_timeout_can_be_set_from_the_environment():
    import subprocess
    import sys

    out = subprocess.run(
        [sys.executable, "-c", "from lamm import clip_loader; print(clip_loader.DOWNLOAD_TIMEOUT_S)"],
        env={**os.environ, "LAMM_DOWNLOAD_TIMEOUT": "7"}, capture_output=True, text=True, check=True,
    )
    assert out.stdout.strip() == "7.0"


def test_the_run_folder_module_imports_without_torch_or_dassl():
    _, report = run_python("import trainers.run_folder, trainers.terminal, lamm.precision")
    assert report["heavy"] == []


@pytest.mark.parametrize("argv, expected", [
    (["--help"], "usage: train.py"),
    (["--config-file", "configs/trainers/LAMM/vit_b16.yaml"], "error: Config file not found"),
    (["--config-file", "configs/trainers/LAMM/vit_b16_ep50_ctxv1_4shots.yaml", "TRAINER.LAMM.LAMDA_WC", "1.0"],
     "error: Unknown config key TRAINER.LAMM.LAMDA_WC"),
    (["--seed", "-2"], "argument --seed: -2 is out of range"),
    (["--trainer", "LAM", "--dataset-config-file", "configs/datasets/caltech101.yaml"],
     "error: Unknown trainer 'LAM' (--trainer). Did you mean LAMM"),
    (["--trainer", "LAMM", "--dataset-config-file", "configs/datasets/caltech101.yaml",
      "--config-file", "configs/trainers/LAMM/vit_b16_ep50_ctxv1_4shots.yaml", "OPTIM.LR", "-0.01"], "error: OPTIM.LR"),
])
def test_train_py_help_and_errors_before_the_model_import_no_torch_dassl_or_clip(argv, expected):
    # Timing-free proxy for "under 2 s": torch, Dassl's engine and CLIP take seconds to import.
    body = (
        "import runpy\n"
        f"sys.argv = ['train.py'] + {argv!r}\n"
        "try:\n"
        "    runpy.run_path('train.py', run_name='__main__')\n"
        "except SystemExit as e:\n"
        "    assert e.code in (0, 2), e.code\n"
        "print('dassl.engine imported:', 'dassl.engine' in sys.modules)\n"
    )
    result, report = run_python(body)
    assert expected in result.stdout + result.stderr
    assert report["heavy"] in ([], ["dassl"]), report  # dassl.config alone (yacs) is light; its engine is not
    assert "dassl.engine imported: False" in result.stdout

"""train.py as a process: what needs a second process or the real command line."""
import pytest

from tests.fixtures import run_train_process, tiny_opts

pytestmark = pytest.mark.slow  # a real entry point in a new process: run with -m slow or -m "not gpu"

CONFIG = "configs/trainers/LAMM/vit_b16_ep50_ctxv1_4shots.yaml"


DATASET_CONFIG = "configs/datasets/caltech101.yaml"


def train_flags(root, output, *opts):
    return ["--root", str(root), "--seed", "1", "--trainer", "LAMM", "--dataset-config-file", DATASET_CONFIG,
            "--config-file", CONFIG, "--output-dir", str(output), *opts]


def test_a_second_process_on_the_same_run_is_refused(caltech_root, tiny_clip_file, tmp_path):
    from trainers.run_folder import RunLock

    output = tmp_path / "run"
    with RunLock(str(output)):
        code, log = run_train_process(*train_flags(caltech_root, output, *tiny_opts(tiny_clip_file)), check=False)
    assert code == 2 and "is being run by another process" in log


# Dassl imports wilds (its DG datasets) as it is imported; the double does not, so with the double the
# run is started as train.py's main block behind an import hook that does what Dassl does.
AS_DASSL_IMPORTS = """
import importlib, importlib.abc, runpy, sys

class ImportWildsWithDassl(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name == "dassl":
            sys.meta_path.remove(self)
            importlib.import_module("wilds")
        return None

sys.meta_path.insert(0, ImportWildsWithDassl())
sys.argv = ["train.py"] + sys.argv[1:]
runpy.run_path("train.py", run_name="__main__")
"""


def test_a_run_behind_a_proxy_that_never_answers_ends_by_itself(silent_proxy, caltech_root, tiny_clip_file,
                                                                 tmp_path):
    import os
    import subprocess
    import sys

    from tests.conftest import USING_DASSL_DOUBLE
    from tests.fixtures import REPO_ROOT

    pytest.importorskip("wilds", reason="requirements-test.txt installs it: the dependency whose check hangs")
    proxy, connections = silent_proxy
    env = {key: value for key, value in os.environ.items() if key not in ("OUTDATED_IGNORE", "NO_PROXY", "no_proxy")}
    env.update({name: proxy for name in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "ALL_PROXY")})
    temp = tmp_path / "tmp"  # no version-check cache of an earlier run (`outdated` keeps one for a day)
    temp.mkdir()
    env.update(TMPDIR=str(temp))
    env.pop("PIP_DISABLE_PIP_VERSION_CHECK", None)  # pip's own check is the command's to turn off
    flags = train_flags(caltech_root, tmp_path / "run", *tiny_opts(tiny_clip_file))
    command = [sys.executable, "-c", AS_DASSL_IMPORTS, *flags] if USING_DASSL_DOUBLE else [sys.executable, "train.py",
                                                                                           *flags]
    try:
        done = subprocess.run(command, cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=300)
    except subprocess.TimeoutExpired as timeout:
        output = (timeout.stdout or b"").decode(errors="replace")[-2000:]
        pytest.fail(f"train.py did not end within 300 s behind a silent proxy "
                    f"({len(connections)} connection(s) to it); its output ended with:\n{output}")
    assert done.returncode == 0, done.stderr[-3000:]
    assert "accuracy" in done.stdout
    assert (tmp_path / "run" / "results.json").is_file()
    assert connections == [], "a run from local files opened a connection to the network"


def test_the_scripts_show_the_run_its_progress_and_result_and_pass_lamm_verbose_on(caltech_root, tiny_clip_file,
                                                                                  tmp_path):
    from tests.fixtures import run_command

    opts = [o for o in tiny_opts(tiny_clip_file) if o not in ("TRAINER.COOP.PREC", "fp32")]  # the config's fp16
    env = {"DATA": caltech_root, "OUTPUT": str(tmp_path / "quiet"), "SEEDS": "1", "TAG": "tiny"}
    _, quiet = run_command(["bash", "scripts/lamm/main.sh", "caltech101", "4", *opts], env=env)
    lines = quiet.splitlines()
    assert any(line.startswith("LAMM on Caltech101, 4 shots, seed 1: training") for line in lines)
    assert "* accuracy: " in quiet and "epoch [2/2]" in quiet and len(lines) < 30, quiet
    assert "** Config **" not in quiet and "Warning" not in quiet and "Precision fp16" not in quiet
    env.update(OUTPUT=str(tmp_path / "verbose"), LAMM_VERBOSE="1")
    _, verbose = run_command(["bash", "scripts/lamm/main.sh", "caltech101", "4", *opts], env=env)
    assert "** Config **" in verbose and "** System info **" in verbose and "Loading trainer: LAMM" in verbose

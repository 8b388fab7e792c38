"""parse_test_res.py as a command: its output, exit status and light start-up."""
import subprocess
import sys

import numpy as np
import pytest

from tests.fixtures import REPO_ROOT
from tests.run_folders import EXP, LAMM_EXPS, output, record, write_run  # noqa: F401  (output: a fixture)

pytestmark = pytest.mark.slow  # a real entry point in a new process: run with -m slow or -m "not gpu"


def test_cli_subprocess(output):
    proc = subprocess.run(
        [sys.executable, "parse_test_res.py", str(output)],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    accs = LAMM_EXPS["dtd/LAMM/vit_b16_ep50_ctxv1_16shots"]
    assert "dtd/LAMM/vit_b16_ep50_ctxv1_16shots" in proc.stdout
    assert f"{np.mean(accs):.2f} ± {np.std(accs):.2f}" in proc.stdout


def test_nothing_found_subprocess_exit_status(tmp_path):
    proc = subprocess.run([sys.executable, "parse_test_res.py", str(tmp_path)],
                          cwd=REPO_ROOT, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1 and "Nothing found" in proc.stderr


def test_help_imports_no_torch_dassl_or_clip(tmp_path):
    """parse_test_res.py starts fast: neither --help nor reading records imports torch, Dassl or clip."""
    write_run(tmp_path, EXP, 1, results=record(seed=1, acc=90.0))
    probe = ("import sys, runpy\n"
             "for argv in (['--help'], [sys.argv[1], '--table', 'all', '--paper']):\n"
             "    sys.argv = ['parse_test_res.py'] + argv\n"
             "    try:\n        runpy.run_path('parse_test_res.py', run_name='__main__')\n"
             "    except SystemExit:\n        pass\n"
             "print('HEAVY', sorted(m for m in ('torch', 'dassl', 'clip') if m in sys.modules))")
    catalog = subprocess.run([sys.executable, "-c", "import sys, datasets.catalog; "
                              "print('dassl' in sys.modules or 'torch' in sys.modules)"],
                             cwd=REPO_ROOT, capture_output=True, text=True, timeout=120)
    if catalog.stdout.strip() != "False":
        pytest.skip("datasets.catalog still imports Dassl/torch (the datasets package change is not merged)")
    proc = subprocess.run([sys.executable, "-c", probe, str(tmp_path)], cwd=REPO_ROOT, capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert "usage: parse_test_res.py" in proc.stdout and "90.00" in proc.stdout
    assert proc.stdout.strip().splitlines()[-1] == "HEAVY []"

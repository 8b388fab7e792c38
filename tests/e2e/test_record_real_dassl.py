"""tests/_dassl_double/record_real_dassl.py as a command: without the real Dassl it refuses in one line."""
import importlib.util
import subprocess
import sys

import pytest

from tests._dassl_double.record_real_dassl import RECORD
from tests.fixtures import REPO_ROOT

pytestmark = pytest.mark.slow  # a real entry point in a new process: run with -m slow or -m "not gpu"


@pytest.mark.skipif(importlib.util.find_spec("dassl") is not None and "_dassl_double" not in
                    str(importlib.util.find_spec("dassl").origin), reason="with the real Dassl it would record")
def test_without_the_real_dassl_it_says_so_and_writes_nothing():
    before = RECORD.read_bytes()
    result = subprocess.run([sys.executable, "-m", "tests._dassl_double.record_real_dassl"], cwd=REPO_ROOT,
                            capture_output=True, text=True)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("error: ") and "cannot import the real Dassl" in line and "install.sh" in line
    assert RECORD.read_bytes() == before

"""install.sh: options, the environment it picks, idempotence, the CPU wheel probe, early errors.

pip runs with no index (PIP_NO_INDEX) so that nothing here downloads or changes the environment:
a step that would install something fails at once instead.
"""
import http.server
import importlib.metadata
import os
import shutil
import socket
import subprocess
import sys
import threading

import pytest

from tests.conftest import REPO_ROOT

pytestmark = pytest.mark.slow  # a real entry point in a new process: run with -m slow or -m "not gpu"

SCRIPT = REPO_ROOT / "install.sh"


def _offline_env(tmp_path, **extra):
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "CONDA_PREFIX", "CONDA_DEFAULT_ENV",
                                                             "LAMM_TORCH", "DASSL_SOURCE", "LAMM_SKIP_DASSL")}
    links = tmp_path / "no-wheels"
    links.mkdir(exist_ok=True)
    env.update(PIP_NO_INDEX="1", PIP_FIND_LINKS=str(links), PIP_DISABLE_PIP_VERSION_CHECK="1")
    env.update(extra)
    return env


def _run(args, env, script=SCRIPT, timeout=300):
    return subprocess.run(["bash", str(script), *args], env=env, capture_output=True, text=True, timeout=timeout)


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_help_and_an_unknown_option(tmp_path):
    shown = _run(["--help"], _offline_env(tmp_path))
    assert shown.returncode == 0
    for flag in ("--dev", "--cpu", "--cuda", "--no-dassl", "--system", "DASSL_SOURCE"):
        assert flag in shown.stdout
    wrong = _run(["--devel"], _offline_env(tmp_path))
    assert wrong.returncode != 0
    assert wrong.stderr.strip().splitlines() == ["error: unknown option '--devel' (options: --dev --cpu --cuda "
                                                 "--no-dassl --system --help)"]


def test_a_complete_environment_installs_nothing_and_says_so(tmp_path):
    # The test interpreter has everything (the suite runs in it): a second install is a no-op.
    done = _run(["--dev", "--no-dassl"], _offline_env(tmp_path, LAMM_PYTHON=sys.executable))
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert f"installing into {shutil.which(sys.executable) or sys.executable} (LAMM_PYTHON)" in out
    assert "is already installed: keeping it" in out
    assert "requirements (requirements.txt requirements-test.txt) are already satisfied" in out
    assert "nothing new installed: everything was already in place" in out
    assert "ok: clip, lamm import" in out
    assert done.stderr == ""


def _dassl_installed() -> bool:
    try:
        importlib.metadata.distribution("dassl")
        return True
    except importlib.metadata.PackageNotFoundError:
        return False


@pytest.mark.skipif(_dassl_installed(), reason="with Dassl installed, DASSL_SOURCE is not looked at")
def test_a_wrong_dassl_source_fails_before_anything_is_installed(tmp_path):
    env = _offline_env(tmp_path, LAMM_PYTHON=sys.executable, LAMM_TORCH="torch==0.0.1")  # would need an install
    clone = tmp_path / "Dassl.pytorch"
    clone.mkdir()
    (clone / "setup.py").write_text("from setuptools import setup\nsetup(name='dassl')\n")
    subprocess.run(["git", "init", "-q", str(clone)], check=True)
    subprocess.run(["git", "-C", str(clone), "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q",
                    "--allow-empty", "-m", "other"], check=True)
    cases = {
        str(tmp_path / "dassl.tar.gz"): "no such archive",
        str(tmp_path): "has no setup.py: not a Dassl source folder",
        str(tmp_path / "missing"): "is neither a git URL, an archive (.tar.gz/.zip) nor a folder",
        str(clone): "lacks Dassl's pinned commit c61a1b5 (git -C",
    }
    for source, expected in cases.items():
        failed = _run([], {**env, "DASSL_SOURCE": source})
        assert failed.returncode == 1
        last = failed.stderr.strip().splitlines()[-1]
        assert last.startswith("error: ") and expected in last, (source, failed.stderr)
        assert "installing" not in failed.stdout.replace("installing into", "")  # nothing was attempted


def test_without_an_environment_it_creates_venv_and_probes_the_cpu_wheel_index(tmp_path):
    repo = tmp_path / "lamm"
    repo.mkdir()
    for name in ("install.sh", "requirements.txt", "requirements-test.txt", "requirements-dassl.txt"):
        shutil.copy(REPO_ROOT / name, repo / name)
    no_driver = shutil.which("nvidia-smi") is None
    env = _offline_env(tmp_path, LAMM_TORCH_CPU_INDEX=f"http://127.0.0.1:{_closed_port()}/whl/cpu")

    first = _run(["--no-dassl"], env, script=repo / "install.sh")
    assert f"no virtual environment is active: creating one in {repo}/.venv" in first.stdout
    assert (repo / ".venv" / "bin" / "python").exists()
    if no_driver:
        assert "no NVIDIA driver found (nvidia-smi absent): choosing PyTorch's CPU-only build" in first.stdout
        assert "cannot be reached: installing the default wheels" in first.stdout
    # No index to install from: pip fails, and the script ends with one error line.
    assert first.returncode == 1
    assert first.stderr.strip().splitlines()[-1].startswith("error: pip could not install requirements.txt")

    if not no_driver:
        return
    # A reachable CPU index is used for torch (here it serves nothing, so pip fails on it).
    class Index(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Index)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    index = f"http://127.0.0.1:{server.server_address[1]}/whl/cpu"
    try:
        second = _run(["--cpu", "--no-dassl"], {**env, "LAMM_TORCH_CPU_INDEX": index}, script=repo / "install.sh")
    finally:
        server.shutdown()
        server.server_close()
    assert f"installing into {repo}/.venv (no environment is active" in second.stdout
    assert f"installing torch>=2.5 torchvision (CPU-only build) from {index}" in second.stdout
    assert second.returncode == 1
    assert second.stderr.strip().splitlines()[-1].startswith(f"error: pip could not install torch>=2.5 torchvision "
                                                            f"from {index}")


def test_cpu_and_cuda_together_is_an_error(tmp_path):
    both = _run(["--cpu", "--dev", "--cuda"], _offline_env(tmp_path, LAMM_PYTHON=sys.executable))
    assert both.returncode == 1 and both.stdout == ""
    assert both.stderr.strip().splitlines() == ["error: --cpu and --cuda exclude each other: give one (--cpu: "
                                                "PyTorch's CPU-only build; --cuda: its CUDA build)"]


def test_an_unreachable_package_index_fails_first_in_one_line(silent_proxy, tmp_path):
    # The index accepts the connection and never answers: the probe gives up in bounded time.
    url, connections = silent_proxy
    env = _offline_env(tmp_path, LAMM_PYTHON=sys.executable, LAMM_TORCH="torch==0.0.1",  # would need an install
                       PIP_INDEX_URL=f"{url}/simple")
    env.pop("PIP_NO_INDEX")
    failed = _run(["--no-dassl"], env, timeout=120)
    assert failed.returncode == 1 and connections
    assert failed.stderr.strip().splitlines() == [
        f"error: cannot reach the package index {url}/simple (timed out); check the network or the proxy "
        "(HTTPS_PROXY), or set PIP_INDEX_URL to an index you can reach"]
    assert "installing" not in failed.stdout.replace("installing into", "")  # nothing was attempted


@pytest.mark.skipif(_dassl_installed(), reason="with Dassl installed, DASSL_SOURCE is not looked at")
def test_an_unreachable_dassl_host_fails_before_anything_is_installed(tmp_path):
    source = f"http://127.0.0.1:{_closed_port()}/KaiyangZhou/Dassl.pytorch"
    env = _offline_env(tmp_path, LAMM_PYTHON=sys.executable, LAMM_TORCH="torch==0.0.1", DASSL_SOURCE=source)
    failed = _run([], env, timeout=120)
    assert failed.returncode == 1
    (line,) = failed.stderr.strip().splitlines()
    assert line.startswith(f"error: cannot reach Dassl's source {source} (") and "Connection refused" in line
    assert "DASSL_SOURCE to a local clone or an archive" in line and "--no-dassl" in line
    assert "installing" not in failed.stdout.replace("installing into", "")

"""Run the double's contract tests against the real Dassl and write down the result.

    python -m tests._dassl_double.record_real_dassl --python /path/to/env-with-dassl/bin/python

The contract tests (``test_contract.py``) import ``dassl`` without knowing which one they get;
here they run in an interpreter where the real Dassl is installed (``bash install.sh`` makes
one). The result lands in ``real_dassl_run.json`` beside them, with a fingerprint of the double
and of the contract tests; ``test_record.py`` fails as soon as either changes after the recorded
run, so that the double can never drift from the real Dassl unnoticed. Rerun this script after
every change to the double and commit the refreshed file.
"""
import argparse
import datetime
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ElementTree
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO_ROOT = HERE.parent.parent
RECORD = HERE / "real_dassl_run.json"
CONTRACT_TESTS = HERE / "test_contract.py"
DOUBLE_PACKAGE = HERE / "dassl"

# Asked of the interpreter under test: where its dassl comes from, and the commit pip recorded.
PROBE = """
import importlib.metadata, json, sys
import dassl, torch
try:
    direct_url = json.loads(importlib.metadata.distribution("dassl").read_text("direct_url.json") or "{}")
except importlib.metadata.PackageNotFoundError:
    direct_url = {}
print(json.dumps({"file": dassl.__file__, "commit": direct_url.get("vcs_info", {}).get("commit_id"),
                  "python": sys.version.split()[0], "torch": torch.__version__}))
"""


class RecordError(Exception):
    """The real Dassl cannot be found or run; the message says what to do."""


def double_fingerprint(folder: Path = HERE) -> str:
    """sha256 over the double's files and the contract tests: what the recorded run vouches for."""
    digest = hashlib.sha256()
    files = sorted(p for p in (folder / "dassl").rglob("*.py")) + [folder / CONTRACT_TESTS.name]
    for path in files:
        digest.update(path.relative_to(folder).as_posix().encode() + b"\0")
        digest.update(path.read_bytes().replace(b"\r\n", b"\n") + b"\0")
    return digest.hexdigest()


def git_commit(folder: str):
    result = subprocess.run(["git", "-C", folder, "rev-parse", "HEAD"], capture_output=True, text=True)
    return result.stdout.strip() if result.returncode == 0 else None


def probe(python: str, env: dict) -> dict:
    result = subprocess.run([python, "-c", PROBE], cwd=tempfile.gettempdir(), env=env, capture_output=True, text=True)
    if result.returncode != 0:
        last = (result.stderr.strip().splitlines() or ["no output"])[-1]
        raise RecordError(f"{python} cannot import the real Dassl ({last}). Install it there with "
                          "`bash install.sh` (DASSL_SOURCE=<clone> without network), or pass --python.")
    found = json.loads(result.stdout.strip().splitlines()[-1])
    if Path(found["file"]).resolve().is_relative_to(HERE):
        raise RecordError(f"{python} imports the test double, not the real Dassl; install the real one there.")
    return found


def run_contract_tests(python: str, env: dict) -> dict:
    with tempfile.TemporaryDirectory() as scratch:
        report = Path(scratch) / "report.xml"
        command = [python, "-m", "pytest", str(CONTRACT_TESTS.relative_to(REPO_ROOT)), "-p", "no:cacheprovider",
                   "-o", "addopts=", f"--junitxml={report}", f"--basetemp={Path(scratch) / 'tmp'}"]
        result = subprocess.run(command, cwd=REPO_ROOT, env=env, capture_output=True, text=True)
        if not report.is_file():
            last = ((result.stdout + result.stderr).strip().splitlines() or ["no output"])[-1]
            raise RecordError(f"pytest did not run in {python} ({last}); install the test requirements there "
                              "(bash install.sh --dev).")
        suite = ElementTree.parse(report).getroot()
        suite = suite if suite.tag == "testsuite" else suite.find("testsuite")
        if "dassl: real install" not in result.stdout:
            raise RecordError("the contract tests did not run against the real Dassl (the test header says otherwise).")
    counts = {key: int(suite.get(key, 0)) for key in ("tests", "failures", "errors", "skipped")}
    counts["passed"] = counts["tests"] - counts["failures"] - counts["errors"] - counts["skipped"]
    return {"counts": counts, "summary": (result.stdout.strip().splitlines() or [""])[-1]}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--python", default=sys.executable, help="an interpreter with the real Dassl installed")
    parser.add_argument("--dassl-source", help="the git clone Dassl was installed from, if pip recorded no commit")
    args = parser.parse_args(argv)
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}  # never the double's path
    found = probe(args.python, env)
    commit = found["commit"] or (git_commit(args.dassl_source) if args.dassl_source else None)
    if not commit:
        raise RecordError(f"pip recorded no commit for the Dassl at {found['file']}; pass --dassl-source <its clone>.")
    outcome = run_contract_tests(args.python, env)
    record = {
        "dassl_commit": commit,
        "contract_tests": outcome["counts"],
        "pytest_summary": outcome["summary"],
        "double_sha256": double_fingerprint(),
        "python": found["python"],
        "torch": found["torch"],
        "date": datetime.date.today().isoformat(),
    }
    tmp = RECORD.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(record, indent=2) + "\n")
    os.replace(tmp, RECORD)
    counts = outcome["counts"]
    print(f"{counts['passed']} passed, {counts['failures']} failed, {counts['errors']} errors, "
          f"{counts['skipped']} skipped against Dassl {commit[:7]}; wrote {RECORD.relative_to(REPO_ROOT)}")
    return 0 if counts["failures"] == counts["errors"] == 0 else 1


if __name__ == "__main__":
    try:
        sys.exit(main())
    except RecordError as error:
        print(f"error: {error}", file=sys.stderr)
        sys.exit(2)

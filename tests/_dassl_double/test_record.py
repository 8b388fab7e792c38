"""The double is the one whose contract tests last passed against the real Dassl at the pinned commit."""
import json
import re
import shutil

from tests._dassl_double.record_real_dassl import RECORD, REPO_ROOT, double_fingerprint

REFRESH = ("refresh it with the real Dassl installed: "
           "python -m tests._dassl_double.record_real_dassl --python <env with Dassl>/bin/python")


def pinned_dassl_commit() -> str:
    """install.sh's DASSL_COMMIT: the one place the pin is written."""
    return re.search(r"^DASSL_COMMIT=([0-9a-f]{40})", (REPO_ROOT / "install.sh").read_text(), re.M).group(1)


def test_the_double_has_not_changed_since_its_recorded_run_against_the_real_dassl():
    record = json.loads(RECORD.read_text())
    assert record["double_sha256"] == double_fingerprint(), (
        f"tests/_dassl_double changed after {RECORD.name} was written ({record['date']}); {REFRESH}")


def test_the_recorded_run_passed_every_contract_test_at_the_pinned_commit():
    record = json.loads(RECORD.read_text())
    counts = record["contract_tests"]
    assert record["dassl_commit"] == pinned_dassl_commit(), f"recorded against another Dassl; {REFRESH}"
    assert counts["failures"] == counts["errors"] == 0 and counts["passed"] > 0
    assert counts["passed"] + counts["skipped"] == counts["tests"]


def test_any_edit_of_the_double_or_its_contract_tests_changes_the_fingerprint(tmp_path):
    here = RECORD.parent
    copy = tmp_path / "double"
    shutil.copytree(here / "dassl", copy / "dassl", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(here / "test_contract.py", copy / "test_contract.py")
    original = double_fingerprint(copy)
    assert original == double_fingerprint(here)
    module = next((copy / "dassl").rglob("*.py"))
    module.write_text(module.read_text() + "\n# edited\n")
    edited = double_fingerprint(copy)
    (copy / "test_contract.py").write_text((copy / "test_contract.py").read_text() + "\n")
    assert len({original, edited, double_fingerprint(copy)}) == 3

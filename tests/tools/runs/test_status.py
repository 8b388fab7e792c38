"""tools/runs/status.py: a run folder's status."""
import json

from lamm.run_record import read_record
from tools.runs.status import FINISHED, UNFINISHED, run_status


def test_a_corrupt_record_is_not_a_finished_run(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    (run / "results.json").write_text('{"accuracy": 5')  # cut off mid-write
    assert read_record(str(run)) is None
    status, detail = run_status(str(run))
    assert status == UNFINISHED and "unreadable, so it runs again" in detail
    (run / "results.json").write_text(json.dumps({"split": "test"}))  # parses, but no accuracy
    assert run_status(str(run))[0] == UNFINISHED
    (run / "results.json").write_text(json.dumps({"accuracy": 50.0}))
    assert run_status(str(run)) == (FINISHED, "")

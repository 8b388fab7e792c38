"""tools/runs/run.py: a run's folder and the error for a name no file system can hold."""
import pytest

from tests.tools.runs.grids import grid_runs, pairs
from tools.runs.run import RunError


def test_a_folder_name_too_long_for_the_file_system_says_to_set_tag(tmp_path):
    opts = tuple(x for i in range(40) for x in (f"TRAINER.LAMM.KEY{i}", "1.0"))
    with pytest.raises(RunError, match=r"more than a file system allows \(255\); name these overrides with TAG="):
        grid_runs(tmp_path, opts=opts, shots=(4,))
    (run,) = grid_runs(tmp_path, opts=opts, shots=(4,), tag="many")
    assert run.experiment.endswith("_many")


def test_run_is_importable_from_the_package_as_before(tmp_path):
    from tools.runs import Run
    from tools.runs.run import Run as the_run

    (run,) = grid_runs(tmp_path, shots=(2,))
    assert Run is the_run and isinstance(run, Run)
    assert run.run_dir == f"{tmp_path}/caltech101/LAMM/vit_b16_ep50_ctxv1_2shots/seed1"
    assert pairs(run.argv())["DATASET.NUM_SHOTS"] == "2"

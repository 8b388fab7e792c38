"""tools/runs/grid.py: a grid expands into runs in a fixed order, and a grid that cannot run is one error."""
import pytest

from tools.runs import grid as grid_module
from tools.runs.grid import Grid, expand, resolve_datasets
from tools.runs.run import RunError as SweepError


def test_expand_orders_runs_by_method_dataset_shots_seed(tmp_path):
    grid = Grid(methods=("CoOpLAMM", "zeroshotclip"), datasets=("caltech101",), shots=("2", "1", "2"), seeds=(2, 1))
    runs = expand(grid, str(tmp_path), str(tmp_path))
    assert [r.name for r in runs] == [
        "caltech101/CoOpLAMM/vit_b16_ep50_ctxv1_2shots/seed2", "caltech101/CoOpLAMM/vit_b16_ep50_ctxv1_2shots/seed1",
        "caltech101/CoOpLAMM/vit_b16_ep50_ctxv1_1shots/seed2", "caltech101/CoOpLAMM/vit_b16_ep50_ctxv1_1shots/seed1",
        "caltech101/ZeroshotCLIP/vit_b16/seed1",
    ]


@pytest.mark.parametrize("grid,match", [
    (Grid(methods=("LAM",), datasets=("caltech101",)), "unknown method 'LAM'; known: ZeroshotCLIP"),
    (Grid(methods=("LAMM",), datasets=("no_such_set",)), r"'no_such_set' has no config: .*no_such_set.yaml not found"),
    (Grid(methods=("LAMM",), datasets=("caltech101",), shots=(3,)), "LAMM has no config for 3 shots"),
    (Grid(methods=("LAMM",), datasets=("caltech101",), seeds=(0,)), "seeds must be 1 or more, got 0"),
    (Grid(methods=("LAMM",), datasets=("caltech101",), shots=("two",)), "shots must be whole numbers"),
    (Grid(methods=("LAMM",), datasets=("caltech101",), opts=("OPTIM.LR",)), "come in KEY VALUE pairs"),
])
def test_expand_rejects_grids_that_cannot_run(grid, match, tmp_path):
    with pytest.raises(SweepError, match=match):
        expand(grid, str(tmp_path), str(tmp_path))


def test_datasets_all_is_every_benchmark_dataset_with_a_config(monkeypatch, tmp_path):
    for name in ("dtd", "caltech101", "imagenet_sketch"):
        (tmp_path / f"{name}.yaml").write_text("DATASET:\n  NAME: X\n")
    monkeypatch.setattr(grid_module, "DATASET_CONFIG_DIR", tmp_path)
    notes = []
    assert resolve_datasets(["all"], notes) == ["caltech101", "dtd"]  # the benchmark's order
    assert "2 of 11" in notes[0] and "imagenet, oxford_pets" in notes[0]
    assert resolve_datasets(["imagenet_sketch", "all"]) == ["imagenet_sketch", "caltech101", "dtd"]
    for name in ("caltech101", "dtd"):
        (tmp_path / f"{name}.yaml").unlink()
    with pytest.raises(SweepError, match="none of the benchmark datasets has a config"):
        resolve_datasets(["all"])

"""tools/sweep.py: the grid names the scripts' folders, runs it on a local pool and through submitit,
skips what is finished, leaves locked runs alone, and resumes a run that was killed."""
import time

import pytest

from tools import runs as runs_module
from tools import sweep, sweep_job
from tools.runs import Grid, expand, resolve_datasets, tag_suffix
from tools.runs import RunError as SweepError
from tools.sweep_job import RAN

MAPLE_OPTS = ["TRAINER.MAPLE.PREC", "fp32", "TRAINER.MAPLE.PROMPT_DEPTH", "2"]


def test_tag_suffix_squeezes_like_tr():
    assert tag_suffix(["A.B", "(32, 32)"]) == "A.B-32-32-"
    assert tag_suffix(["K", "é--x"]) == "K-x"
    assert tag_suffix(["K", "v"], tag="t") == "t"


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
    monkeypatch.setattr(runs_module, "DATASET_CONFIG_DIR", tmp_path)
    notes = []
    assert resolve_datasets(["all"], notes) == ["caltech101", "dtd"]  # the benchmark's order
    assert "2 of 11" in notes[0] and "imagenet, oxford_pets" in notes[0]
    assert resolve_datasets(["imagenet_sketch", "all"]) == ["imagenet_sketch", "caltech101", "dtd"]
    for name in ("caltech101", "dtd"):
        (tmp_path / f"{name}.yaml").unlink()
    with pytest.raises(SweepError, match="none of the benchmark datasets has a config"):
        resolve_datasets(["all"])


def test_grid_file_gives_the_same_runs_as_flags_and_flags_win(tmp_path):
    grid_file = tmp_path / "grid.yaml"
    grid_file.write_text("methods: [LAMM, MaPLe]\ndatasets: caltech101\nshots: [1, 2]\nseeds: [1]\n"
                         "opts: {OPTIM.MAX_EPOCH: 2}\ntag: t\n")
    parse = sweep.parse_args
    from_file = sweep.grid_from_args(parse(["--grid", str(grid_file)]))
    from_flags = sweep.grid_from_args(parse(["--methods", "LAMM", "MaPLe", "--datasets", "caltech101", "--shots", "1",
                                             "2", "--seeds", "1", "--tag", "t", "--opts", "OPTIM.MAX_EPOCH", "2"]))
    assert expand(from_file, "o", "d") == expand(from_flags, "o", "d")
    assert sweep.grid_from_args(parse(["--grid", str(grid_file), "--seeds", "3"])).seeds == ("3",)
    grid_file.write_text("methods: LAMM\nepochs: 3\n")
    with pytest.raises(SweepError, match=r"unknown key\(s\) epochs"):
        sweep.grid_from_args(parse(["--grid", str(grid_file)]))


@pytest.mark.parametrize("flags,match", [
    (["--submitit", "slurm", "--workers", "2"], "--workers set the local pool; with --submitit use"),
    (["--partition", "gpu", "--no-wait"], "--partition, --no-wait: submitit options; add --submitit"),
])
def test_flags_of_the_other_executor_are_rejected(flags, match):
    with pytest.raises(SweepError, match=match):
        sweep.check_executor_flags(sweep.build_parser().parse_args(["--methods", "LAMM", *flags]))


def test_pool_slots_give_each_worker_a_gpu_or_the_cpu(monkeypatch):
    assert sweep.pool_slots(["0", "1"], None) == ["0", "1"]
    assert sweep.pool_slots(["0", "1"], 3) == ["0", "1", "0"]
    assert sweep.pool_slots(["none"], 2) == ["", ""]
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "2,3")
    assert sweep.pool_slots(None, None) == ["2", "3"]
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")
    assert sweep.pool_slots(None, None) == [""]
    with pytest.raises(SweepError, match="--workers must be 1 or more"):
        sweep.pool_slots(None, 0)


def test_pool_runs_one_run_per_gpu_at_a_time(tmp_path):
    runs = expand(Grid(methods=("LAMM",), datasets=("caltech101",), shots=(1, 2), seeds=(1, 2, 3)),
                  str(tmp_path), str(tmp_path))
    spans = []

    def fake_job(run, log_path, gpu=None):
        start = time.monotonic()
        time.sleep(0.1)
        spans.append((gpu, start, time.monotonic()))
        return sweep_job.Outcome(run, RAN, log_path)

    outcomes = sweep.run_pool(runs, {r: "log" for r in runs}, ["0", "1"], lambda o: None, job=fake_job)
    assert sorted(o.run.name for o in outcomes) == sorted(r.name for r in runs)
    assert {gpu for gpu, _, _ in spans} == {"0", "1"}
    for gpu in ("0", "1"):
        mine = sorted((s, e) for g, s, e in spans if g == gpu)
        assert all(end <= next_start for (_, end), (next_start, _) in zip(mine, mine[1:]))

"""CoCoOp through train.py in a new process, with the CoOp repository's command line (its config
name, DATASET.NUM_SHOTS on the command line), then evaluated with --eval-only --model-dir."""
import json

import pytest

from tests.fixtures import run_train_process, tiny_opts

pytestmark = pytest.mark.slow  # a real entry point in a new process: run with -m slow or -m "not gpu"


@pytest.mark.parametrize("trainer", ["CoCoOp", "CoCoOpLAMM"])
def test_cocoop_trains_and_evaluates_with_the_coop_repositorys_command(trainer, caltech_root, tiny_clip_file, tmp_path):
    run, evaluation = tmp_path / "train", tmp_path / "eval"
    flags = ["--root", caltech_root, "--seed", "1", "--trainer", trainer,
             "--dataset-config-file", "configs/datasets/caltech101.yaml",
             "--config-file", f"configs/trainers/{trainer}/vit_b16_c4_ep10_batch1_ctxv1.yaml"]
    opts = tiny_opts(tiny_clip_file, "TRAINER.COCOOP.PREC", "fp32", "DATASET.NUM_SHOTS", "4")
    _, log = run_train_process(*flags, "--output-dir", run, *opts)
    assert "Traceback" not in log and (run / "prompt_learner" / "model.pth.tar-2").is_file()
    trained = json.loads((run / "results.json").read_text())
    assert trained["trainer"] == trainer and trained["num_shots"] == 4
    _, log = run_train_process(*flags, "--output-dir", evaluation, "--eval-only", "--model-dir", run,
                               "--load-epoch", "2", *opts)
    evaluated = json.loads((evaluation / "results.json").read_text())
    assert evaluated["eval_only"] and evaluated["accuracy"] == trained["accuracy"]

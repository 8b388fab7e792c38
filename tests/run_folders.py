"""Synthetic output folders for the tests of parse_test_res.py and tools/results/collect.py: Dassl's
log lines, results.json records, and a folder of three experiments (the ``output`` fixture)."""
import json
from pathlib import Path

import pytest

from trainers.record import Record

LAMM_EXPS = {
    "caltech101/LAMM/vit_b16_ep50_ctxv1_16shots": [95.1, 95.6, 94.8],
    "caltech101/LAMM/vit_b16_ep50_ctxv1_2shots": [93.0, 92.4, 93.9],
    "dtd/LAMM/vit_b16_ep50_ctxv1_16shots": [70.2, 71.9],
}


EXP = "caltech101/LAMM/vit_b16_ep50_ctxv1_16shots"


def result_block(accuracy, macro_f1=None, total=1000):
    """Dassl 0.6.3's Classification evaluator output."""
    correct = round(total * accuracy / 100)
    macro_f1 = accuracy - 1.1 if macro_f1 is None else macro_f1
    return [
        "=> result",
        f"* total: {total:,}",
        f"* correct: {correct:,}",
        f"* accuracy: {accuracy:.1f}%",
        f"* error: {100 - accuracy:.1f}%",
        f"* macro_f1: {macro_f1:.1f}%",
    ]


def train_log(accuracy, end_signal="Finish training", val_accuracy=None, **kw):
    """A training log: epochs (with an optional validation block), the end signal, the final test."""
    lines = [
        "Setting fixed seed: 1",
        "Loading trainer: LAMM",
        "epoch [1/2] batch [1/1] time 0.512 (0.512) data 0.201 (0.201) "
        "loss 2.3026 (2.3026) lr 1.0000e-05 eta 0:00:01",
    ]
    if val_accuracy is not None:
        lines += ["Evaluate on the *val* set"] + result_block(val_accuracy)
    lines += [
        "epoch [2/2] batch [1/1] time 0.498 (0.505) data 0.199 (0.200) "
        "loss 1.9000 (2.1013) lr 2.0000e-03 eta 0:00:00",
        "Checkpoint saved to output/x/prompt_learner/model.pth.tar-2",
        end_signal,
        "Deploy the last-epoch model",
        "Evaluate on the *test* set",
    ]
    lines += result_block(accuracy, **kw)
    lines += ["Elapsed: 0:00:05"]
    return "\n".join(lines) + "\n"


def eval_log(accuracy, **kw):
    """An eval-only log (--eval-only): no 'Finish training'."""
    lines = ["Loading weights to prompt_learner from output/x/model.pth.tar-50 (epoch = 50)",
             "Evaluate on the *test* set"] + result_block(accuracy, **kw)
    return "\n".join(lines) + "\n"


def write_run(root, experiment, seed, log=None, results=None):
    run = Path(root) / experiment / f"seed{seed}"
    run.mkdir(parents=True, exist_ok=True)
    if log is not None:
        (run / "log.txt").write_text(log)
    if results is not None:
        (run / "results.json").write_text(json.dumps(results))
    return run


@pytest.fixture
def output(tmp_path):
    """Project layout output/<dataset>/<Trainer>/<config>/seed<S>, log-only runs."""
    for exp, accs in LAMM_EXPS.items():
        for seed, acc in enumerate(accs, start=1):
            write_run(tmp_path, exp, seed, log=train_log(acc))
    return tmp_path


# --------------------------------------------------------------------------- runs grouped by their records
def record(trainer="LAMM", seed=1, acc=80.0, **kw):
    """The record a 16-shot few-shot run of ``trainer`` on Caltech101 writes, with ``kw`` changed."""
    fields = dict(method=kw.pop("method", trainer), dataset="Caltech101", num_shots=16, accuracy=acc, seed=seed,
                  loss={"ce": 1.0, "wc": 0.0625, "cos": 1.0, "kd": 1.0}, labels={"tokens": 1, "init": "word"},
                  config_fingerprint="0123456789abcdef")
    return Record(**{**fields, **kw}).to_dict()

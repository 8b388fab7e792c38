"""tools/inspect_labels: movement of each label from its start, and its nearest words."""
import json

import pytest
import torch

from lamm.prompt_layout import tokenizer
from lamm.prompt_learner import PromptLearner
from tests.fixtures import run_tool
from tests.helpers import CLASSNAMES, tiny_clip
from tests.trained_runs import predict_data, trained_run, unfinished_copy  # noqa: F401
from tools.inspect_labels import Vocabulary, inspect_run, label_report, summarise
from tools.inspect_labels import main as inspect_main


def test_an_untrained_label_is_nearest_to_its_own_class_name_tokens():
    clip_model = tiny_clip()
    learner = PromptLearner(clip_model.token_embedding, CLASSNAMES, context_init="a photo of a", label_tokens="all",
                            learn_context=False)
    rows = label_report(learner.label_embeddings, CLASSNAMES, Vocabulary(clip_model.token_embedding.weight), k=2)
    bpe = tokenizer()
    for row, name in zip(rows, CLASSNAMES):
        own = [bpe.decode([t]).strip() for t in bpe.encode(name.replace("_", " "))]
        assert [slot[0][0] for slot in row["nearest"]] == own, name
        assert all(slot[0][1] == pytest.approx(1.0, abs=1e-5) and slot[1][1] < slot[0][1] for slot in row["nearest"])
        assert row["l2"] == 0 and row["cosine"] == pytest.approx(1.0, abs=1e-6)


def test_movement_is_measured_from_the_saved_anchor(trained_run):
    run = trained_run("LAMM")
    report = inspect_run(str(run))
    state = torch.load(run / "prompt_learner" / "model.pth.tar-2", weights_only=True)["state_dict"]
    vectors, anchor = state["label_embeddings.vectors"], state["label_embeddings.anchor"]
    owner = state["label_embeddings.class_index"]
    for c, row in enumerate(report["classes"]):
        expected = (vectors[owner == c] - anchor[owner == c]).norm()
        assert row["l2"] == pytest.approx(float(expected), rel=1e-5) and row["l2"] > 0
    assert report["context"] is None  # LAMM's context is fixed
    summary = report["summary"]
    by_l2 = sorted(report["classes"], key=lambda r: r["l2"])
    assert summary["most"][0] == by_l2[-1]["class"] and summary["least"][0] == by_l2[0]["class"]


def test_summary_orders_classes_by_distance():
    rows = [{"class": n, "frozen": False, "l2": d, "cosine": 1.0} for n, d in [("a", 0.3), ("b", 0.1), ("c", 0.2)]]
    rows.append({"class": "d", "frozen": True, "l2": None, "cosine": None})
    summary = summarise(rows, count=2)
    assert summary["most"] == ["a", "c"] and summary["least"] == ["b", "c"] and summary["median_l2"] == 0.2


@pytest.mark.parametrize("trainer", ["CoOpLAMM", "MaPLeLAMM", "CoOp", "CoCoOpLAMM"])
def test_the_command_reports_labels_and_context(trainer, trained_run, tmp_path):
    plot = tmp_path / "moved.png"
    extra = [] if trainer == "CoOp" else ["--plot", str(plot)]
    code, out, err = run_tool(inspect_main, trained_run(trainer), "--format", "json", *extra, streams=True)
    assert code == 0, err[-2000:]
    report = json.loads(out)  # stdout holds the report only; the build's lines go to stderr
    assert report["trainer"] == trainer and report["context"] is not None
    assert len(report["context"]["nearest"]) == (2 if "MaPLe" in trainer else 4)  # N_CTX context vectors
    assert len(report["context"]["l2"]) == len(report["context"]["nearest"])  # CTX_INIT words: a known start
    if trainer == "CoOp":
        assert report["classes"] == []
    else:
        assert len(report["classes"]) == 5 and all(r["l2"] > 0 for r in report["classes"])
        assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_the_table_and_bad_input(trained_run):
    code, output = run_tool(inspect_main, trained_run("LAMM"))
    assert "moved most:" in output and "moved least:" in output and "nearest words" in output
    code, output = run_tool(inspect_main, trained_run("ZeroshotCLIP"), check=False)
    assert code == 2 and "error: " in output and "learned nothing to inspect" in output and "Traceback" not in output


def test_an_unfinished_run_says_so(trained_run, tmp_path):
    run = unfinished_copy(trained_run("LAMM"), tmp_path)
    code, out, err = run_tool(inspect_main, run, streams=True)
    assert f"warning: {run} is an unfinished run: its training stopped at epoch 2 of 6" in err
    assert out.splitlines()[0].startswith(f"LAMM run {run} (epoch 2 of 6: an unfinished run), 5 classes")
    code, out, err = run_tool(inspect_main, run, "--format", "json", streams=True)
    report = json.loads(out)
    assert (report["epoch"], report["max_epoch"], report["finished"]) == (2, 6, False)
    code, out, err = run_tool(inspect_main, trained_run("LAMM"), streams=True)
    assert "unfinished" not in out + err and "(epoch 2), 5 classes" in out.splitlines()[0]


@pytest.mark.parametrize("trainer", ["CoOp", "MaPLe", "CoCoOp"])
def test_a_run_without_label_embeddings_says_so_instead_of_0_classes(trainer, trained_run, tmp_path):
    run = trained_run(trainer)
    code, out, err = run_tool(inspect_main, run, streams=True)
    header = out.splitlines()[0]
    assert "0 classes" not in out
    assert header == f"{trainer} run {run} (epoch 2), a {trainer} run learns no label embeddings " \
                     "(CoCoOpLAMM, CoOpLAMM, LAMM, MaPLeLAMM runs do)"
    assert out.splitlines()[1].startswith("context (")  # what it did learn: the context's nearest words
    code, out, err = run_tool(inspect_main, run, "--format", "json", streams=True)
    assert json.loads(out)["learns_labels"] is False and json.loads(out)["classes"] == []
    code, output = run_tool(inspect_main, run, "--plot", tmp_path / "moved.png", check=False)
    assert code == 2 and "Traceback" not in output and not (tmp_path / "moved.png").exists()
    assert (f"error: --plot draws how the label embeddings moved, but {run} is a {trainer} run: a {trainer} run "
            "learns no label embeddings") in output


@pytest.mark.parametrize("case, message", [
    ("folder", "error: --plot {plot} is a folder; give a file name"),
    ("parent_is_a_file", "error: --plot {plot}: {tmp}/notes.txt is a file, not a folder"),
    ("read_only", "error: --plot {plot}: cannot write in {tmp} (no permission or a read-only file system)"),
    ("format", "error: --plot {plot}: matplotlib cannot write .xyz files; use one of "),
])
def test_a_plot_that_cannot_be_written_is_one_error_line_before_the_model_is_built(
        case, message, trained_run, tmp_path, monkeypatch):
    import os

    plot = {"folder": tmp_path, "parent_is_a_file": tmp_path / "notes.txt" / "moved.png",
            "read_only": tmp_path / "moved.png", "format": tmp_path / "moved.xyz"}[case]
    (tmp_path / "notes.txt").write_text("notes")
    if case == "read_only":  # as for a user without write permission (the tests may run as root)
        monkeypatch.setattr(os, "access", lambda path, mode: False)
    monkeypatch.setattr("trainers.from_run.TrainedModel", None)  # building the model would be a TypeError
    code, output = run_tool(inspect_main, trained_run("LAMM"), "--plot", plot, check=False)
    assert code == 2 and "Traceback" not in output, output[-2000:]
    assert message.format(plot=plot, tmp=tmp_path) in output
    assert sorted(os.listdir(tmp_path)) == ["notes.txt"]


def test_a_plot_write_that_fails_is_one_error_line(trained_run, tmp_path, monkeypatch):
    def refuse(path, write):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr("lamm.files.atomic_write", refuse)
    code, output = run_tool(inspect_main, trained_run("LAMM"), "--plot", tmp_path / "moved.svg", check=False)
    assert code == 2 and "Traceback" not in output
    assert f"error: --plot {tmp_path / 'moved.svg'}: could not be written (Permission denied)" in output


def test_more_nearest_words_than_the_vocabulary_has_is_one_error_line(trained_run):
    code, output = run_tool(inspect_main, trained_run("LAMM"), "--words", "60000", check=False)
    assert code == 2 and "Traceback" not in output
    assert "error: --words 60000: the backbone's vocabulary has 49408 tokens; ask for fewer nearest words" in output

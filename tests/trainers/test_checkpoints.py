"""trainers/checkpoints.py: what a checkpoint holds, what loads, and each way a checkpoint can be wrong."""
import errno
import os
import shutil
from pathlib import Path

import pytest
import torch
from dassl.engine import build_trainer

import train
from lamm.errors import CheckpointError, CheckpointNotFoundError, ConfigError
from lamm.prompt_learner import PromptLearner
from trainers.record import read_record
from tests.fixtures import tiny_opts, tiny_trainer, train_args
from tests.helpers import tiny_clip
from trainers.checkpoints import (
    LoadPolicy,
    adopt_labels,
    latest_checkpoint,
    load_prompt_learner_checkpoint,
    load_prompt_state,
    read_checkpoint,
    save_checkpoint_atomically,
)

COOP_CONFIG = "configs/trainers/CoOp/vit_b16_ep50_ctxv1_4shots.yaml"


def test_coop_loads_a_checkpoint_written_by_the_coop_repository(caltech_root, tiny_clip_file, tmp_path):
    trainer = tiny_trainer("CoOp", caltech_root, tiny_clip_file, tmp_path / "run")
    ctx = torch.randn(4, 64).half()
    # CoOp's checkpoint: fp16 ctx, its prompt buffers, and pickled optimizer/scheduler objects.
    parameter = torch.nn.Parameter(ctx.float())
    optimizer = torch.optim.SGD([parameter], lr=0.002, momentum=0.9)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, 50.0)
    folder = tmp_path / "coop_run" / "prompt_learner"
    folder.mkdir(parents=True)
    torch.save({"state_dict": {"ctx": ctx, "token_prefix": torch.zeros(4, 1, 64), "token_suffix": torch.zeros(4, 72, 64)},
                "epoch": 50, "optimizer": optimizer.state_dict(), "scheduler": {"successor": scheduler, "last_epoch": 50},
                "val_result": None}, folder / "model.pth.tar-50")
    trainer.load_model(str(tmp_path / "coop_run"), epoch=50)
    torch.testing.assert_close(trainer.model.prompt_learner.ctx.detach(), ctx.float())
    assert trainer.loaded_epoch == 50


def test_loading_a_checkpoint_of_other_classes_is_a_clear_error(caltech_root, tiny_clip_file, tmp_path):
    trainer = tiny_trainer("LAMM", caltech_root, tiny_clip_file, tmp_path / "run")
    folder = tmp_path / "other" / "prompt_learner"
    folder.mkdir(parents=True)
    torch.save({"state_dict": {"label_embeddings.vectors": torch.zeros(7, 64)}, "epoch": 2}, folder / "model.pth.tar-2")
    with pytest.raises(ConfigError, match=r"label_embeddings.vectors has shape \(7, 64\) in the checkpoint"):
        load_prompt_learner_checkpoint(trainer.model.prompt_learner, str(folder), 2)
    with pytest.raises(FileNotFoundError, match=r"Model not found .*Available: model.pth.tar-2"):
        load_prompt_learner_checkpoint(trainer.model.prompt_learner, str(folder), 5)


def test_a_lamm_checkpoint_of_other_classes_is_refused_unless_asked(tmp_path):
    clip_model = tiny_clip()
    make = lambda names: PromptLearner(clip_model.token_embedding, names, context_init="a photo of a",
                                       learn_context=False, label_tokens="shortest")
    folder = tmp_path / "prompt_learner"
    folder.mkdir()
    torch.save({"state_dict": make(["cat", "dog"]).state_dict(), "epoch": 3}, folder / "model.pth.tar-3")
    other = make(["oak", "maple"])  # same indices 0 and 1, other classes
    with pytest.raises(ConfigError, match=r"label embeddings for 0 of this dataset's 2 classes.*UNSEEN_CLASSES init"):
        load_prompt_learner_checkpoint(other, str(folder), 3)
    before = other()[0].clone()
    assert load_prompt_learner_checkpoint(other, str(folder), 3, unseen_classes="init") == 3
    torch.testing.assert_close(other()[0], before)  # unseen classes keep their word embeddings


def test_a_checkpoint_of_another_trainer_family_says_which(caltech_root, tiny_clip_file, tmp_path):
    cfg = train.setup_cfg(train_args(caltech_root, tmp_path / "run", opts=tiny_opts(tiny_clip_file)))
    trainer = build_trainer(cfg)
    maple_run = tmp_path / "maple_run"
    (maple_run / "MultiModalPromptLearner").mkdir(parents=True)
    with pytest.raises(FileNotFoundError, match="holds a MultiModalPromptLearner checkpoint, written by MaPLe"):
        trainer.load_model(str(maple_run), epoch=5)


def test_checkpoints_never_run_pickled_code(tmp_path):
    class Payload:
        def __reduce__(self):
            return (Path.touch, (tmp_path / "pwned",))

    path = tmp_path / "evil.pth"
    torch.save({"state_dict": {"ctx": torch.zeros(2)}, "epoch": 1, "extra": Payload()}, path)
    with pytest.raises(ConfigError, match="was not loaded: it holds pickled code"):
        read_checkpoint(str(path))
    assert not (tmp_path / "pwned").exists()


def test_checkpoints_carry_their_trainer_and_classes(lamm_run):
    checkpoint = read_checkpoint(str(lamm_run / "prompt_learner" / "model.pth.tar-2"))
    assert checkpoint["meta"]["trainer"] == checkpoint["meta"]["family"] == "LAMM"
    assert checkpoint["meta"]["classnames"] == read_record(str(lamm_run))["classnames"]
    assert checkpoint["train_time_s"] > 0


def test_another_familys_checkpoint_is_refused_unless_through_init_weights(lamm_run, caltech_root, tiny_clip_file,
                                                                           tmp_path):
    cfg = train.setup_cfg(train_args(caltech_root, tmp_path / "coop", trainer="CoOp", config=COOP_CONFIG,
                                     opts=tiny_opts(tiny_clip_file)))
    coop = build_trainer(cfg)
    with pytest.raises(CheckpointError, match=r"written by the LAMM trainer, not CoOp.*--trainer LAMM.*MODEL.INIT_WEIGHTS"):
        coop.load_model(str(lamm_run), epoch=2)

    cfg = train.setup_cfg(train_args(caltech_root, tmp_path / "coop2", trainer="CoOp", config=COOP_CONFIG,
                                     opts=tiny_opts(tiny_clip_file, "MODEL.INIT_WEIGHTS", str(lamm_run))))
    initialised = build_trainer(cfg)  # an explicit initialisation: the context is taken over
    saved = read_checkpoint(str(lamm_run / "prompt_learner" / "model.pth.tar-2"))["state_dict"]["ctx"]
    torch.testing.assert_close(initialised.model.prompt_learner.ctx.detach(), saved.float())


def test_a_checkpoint_without_meta_is_told_apart_by_its_labels(caltech_root, tiny_clip_file, tmp_path):
    folder = tmp_path / "coop_repo_run" / "prompt_learner"
    folder.mkdir(parents=True)
    torch.save({"state_dict": {"ctx": torch.zeros(4, 64)}, "epoch": 50}, folder / "model.pth.tar-50")
    lamm = build_trainer(train.setup_cfg(train_args(caltech_root, tmp_path / "x", opts=tiny_opts(tiny_clip_file))))
    with pytest.raises(CheckpointError, match="has no label embeddings.*LAMM cannot use"):
        lamm.load_model(str(tmp_path / "coop_repo_run"), epoch=50)


@pytest.mark.parametrize("content, message", [
    (b"", r"model.pth.tar-2 is empty \(0 bytes\)"),
    (b"not a checkpoint", r"model.pth.tar-2 is not a readable checkpoint"),
    ("truncated", r"model.pth.tar-2 is not a readable checkpoint"),
])
def test_an_empty_or_corrupt_checkpoint_is_named(content, message, lamm_run, tmp_path):
    path = tmp_path / "model.pth.tar-2"
    good = (lamm_run / "prompt_learner" / "model.pth.tar-2").read_bytes()
    path.write_bytes(good[: len(good) // 2] if content == "truncated" else content)
    with pytest.raises(CheckpointError, match=message):
        read_checkpoint(str(path))


@pytest.mark.parametrize("failure", [OSError(errno.ENOSPC, "No space left on device"),
                                     RuntimeError("[enforce fail at inline_container.cc:603] . unexpected pos 64")])
def test_a_full_disk_during_a_save_is_named_and_keeps_the_previous_checkpoint(failure, tmp_path, monkeypatch):
    folder = tmp_path / "prompt_learner"
    save_checkpoint_atomically({"epoch": 1, "w": torch.ones(3)}, str(folder), "model.pth.tar-1")
    before = (folder / "model.pth.tar-1").read_bytes()

    def full_disk(obj, path, *args, **kwargs):
        Path(path).write_bytes(b"\0" * 10)  # part of a file, then the failure
        raise failure

    monkeypatch.setattr(torch, "save", full_disk)
    with pytest.raises(CheckpointError, match=rf"Could not write the checkpoint model.pth.tar-2 in {folder} .*GB free.*intact"):
        save_checkpoint_atomically({"epoch": 2}, str(folder), "model.pth.tar-2")
    assert sorted(os.listdir(folder)) == ["checkpoint", "model.pth.tar-1"]  # no partial file left
    assert (folder / "model.pth.tar-1").read_bytes() == before
    assert latest_checkpoint(str(folder)) == str(folder / "model.pth.tar-1")


def test_a_checkpoint_note_naming_a_missing_file_is_an_error(lamm_run, caltech_root, tiny_clip_file, tmp_path):
    copy = tmp_path / "seed1"
    shutil.copytree(lamm_run, copy)
    (copy / "prompt_learner" / "checkpoint").write_text("model.pth.tar-1\n")
    trainer = build_trainer(train.setup_cfg(train_args(caltech_root, copy, opts=tiny_opts(tiny_clip_file))))
    with pytest.raises(CheckpointNotFoundError, match=r"names model.pth.tar-1, which is missing \(epochs present: 2\)"):
        trainer.resume_model_if_exist(str(copy))


def adopt(labels, saved, freeze=False):
    """``adopt_labels`` on a ``LabelEmbeddings`` module's state, loaded back into it."""
    state, adopted = adopt_labels(labels.state_dict(), saved, freeze=freeze)
    labels.load_slots(state)
    return adopted


def test_label_embeddings_move_between_label_spaces_by_class_id():
    clip_model = tiny_clip()
    names = ["cat", "dog", "sea lion", "car"]
    source = PromptLearner(clip_model.token_embedding, names, context_init="a photo of a", learn_context=False,
                           label_tokens="all")
    with torch.no_grad():
        source.label_embeddings.vectors.add_(torch.randn_like(source.label_embeddings.vectors))
    # A subset of the classes, ordered differently, as ImageNet-A's 200 of ImageNet's 1000.
    target = PromptLearner(clip_model.token_embedding, ["car", "sea lion"], context_init="a photo of a",
                           learn_context=False, label_tokens="all", class_ids=[3, 2])
    state = {k[len("label_embeddings."):]: v for k, v in source.state_dict().items() if k.startswith("label_embeddings.")}
    assert adopt(target.label_embeddings, state) == 2
    torch.testing.assert_close(target()[0], source()[0][[3, 2]])

    # Frozen adoption keeps the old classes exactly while the new ones train.
    incremental = PromptLearner(clip_model.token_embedding, names, context_init="a photo of a", learn_context=False,
                                label_tokens="all")
    subset = {key: value for key, value in state.items()}
    keep = state["class_index"] < 2
    for key in ("vectors", "anchor", "class_index", "positions"):
        subset[key] = state[key][keep]
    subset["class_ids"] = torch.tensor([0, 1])
    adopt(incremental.label_embeddings, subset, freeze=True)
    assert set(incremental.label_embeddings.class_index.tolist()) == {2, 3}
    torch.testing.assert_close(incremental()[0][:2], source()[0][:2])


def test_evaluating_a_lamm_run_says_nothing_of_keys_it_loaded(lamm_run, caltech_root, tiny_clip_file, tmp_path, capsys):
    trainer = tiny_trainer("LAMM", caltech_root, tiny_clip_file, tmp_path / "eval")
    capsys.readouterr()
    trainer.load_model(str(lamm_run), epoch=2)
    printed = capsys.readouterr().out
    assert "Loading weights to prompt_learner" in printed
    assert "Keys not in the checkpoint" not in printed  # the labels are loaded (issue 19)
    saved = read_checkpoint(str(lamm_run / "prompt_learner" / "model.pth.tar-2"))["state_dict"]
    for key, value in trainer.model.prompt_learner.state_dict().items():
        torch.testing.assert_close(value, saved[key].to(value.dtype), rtol=0, atol=0, msg=key)


def test_the_note_on_keys_not_in_the_checkpoint_names_exactly_those(capsys):
    clip_model = tiny_clip()
    make = lambda: PromptLearner(clip_model.token_embedding, ["cat", "dog"], n_ctx=4, label_tokens="shortest")
    saved, learner = make().state_dict(), make()
    without_ctx = {key: value for key, value in saved.items() if key != "ctx"}
    load_prompt_state(learner, without_ctx, LoadPolicy("eval", "run/model.pth.tar-1"))
    assert "Keys not in the checkpoint (kept at their initial values): ['ctx']\n" in capsys.readouterr().out
    without_labels = {key: value for key, value in saved.items() if not key.startswith("label_embeddings.")}
    load_prompt_state(learner, without_labels, LoadPolicy("eval", "run/model.pth.tar-1"))
    note = capsys.readouterr().out
    assert note.startswith("Keys not in the checkpoint (kept at their initial values): ['label_embeddings.anchor'")
    assert "ctx" not in note

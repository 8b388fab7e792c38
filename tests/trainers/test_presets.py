"""trainers/presets.py: the "official" preset sets the official code's choices, and only those the trainer uses."""
import pytest

from lamm.errors import ConfigError
from tests.fixtures import tiny_trainer
from trainers.config import extend_cfg
from trainers.presets import apply_preset


def test_the_official_preset_sets_the_official_choices(caltech_root, tiny_clip_file, tmp_path):
    trainer = tiny_trainer("MaPLeLAMM", caltech_root, tiny_clip_file, tmp_path / "run", "TRAINER.LAMM.PRESET", "official")
    cfg = trainer.cfg
    assert cfg.TRAINER.LAMM.PRESET == "official"  # recorded in config.yaml (and results.json)
    assert cfg.TRAINER.LAMM.LAMBDA_WC == 1.0 and trainer.criterion.lambda_wc == 1.0
    assert cfg.TRAINER.LAMM.MAPLE_LABEL_LAYOUT == "official"
    assert trainer.criterion.weights == {"ce": 1.0, "wc": 1.0, "cos": 1.0, "kd": 0.05}
    labels = trainer.model.prompt_learner.label_embeddings
    assert labels.positions.tolist() == [1 + cfg.TRAINER.MAPLE.N_CTX] * trainer.num_classes
    # A training step runs with it.
    trainer.set_model_mode("train")
    trainer.num_batches = len(trainer.train_loader_x)
    trainer.batch_idx = 0
    summary = trainer.forward_backward(next(iter(trainer.train_loader_x)))
    assert {"ce", "wc", "cos", "kd"} <= set(summary)


def preset_cfg(trainer_name, *opts, from_files=()):
    """A config as train.py builds it: ``from_files`` stands for config-file values, ``opts`` for
    the command line."""
    from dassl.config import get_cfg_default

    cfg = get_cfg_default()
    extend_cfg(cfg)
    cfg.TRAINER.NAME = trainer_name
    cfg.merge_from_list(list(from_files) + list(opts))
    apply_preset(cfg, list(opts))
    return cfg


def test_an_explicit_value_that_contradicts_the_preset_is_an_error():
    with pytest.raises(ConfigError, match=r"sets TRAINER.LAMM.LAMBDA_WC to 1.0, but the command line gives 0.25"):
        preset_cfg("MaPLeLAMM", "TRAINER.LAMM.PRESET", "official", "TRAINER.LAMM.LAMBDA_WC", "0.25")
    with pytest.raises(ConfigError, match="MAPLE_LABEL_LAYOUT"):
        preset_cfg("MaPLeLAMM", "TRAINER.LAMM.PRESET", "official", "TRAINER.LAMM.MAPLE_LABEL_LAYOUT", "name")
    with pytest.raises(ConfigError, match="CLASS_TOKEN_POSITION"):
        preset_cfg("LAMM", "TRAINER.LAMM.PRESET", "official", "TRAINER.COOP.CLASS_TOKEN_POSITION", "middle")
    with pytest.raises(ConfigError, match="PRESET"):
        preset_cfg("LAMM", "TRAINER.LAMM.PRESET", "paper")
    # Agreeing with the preset, or switching a loss term off (the ablations), keeps it official.
    cfg = preset_cfg("LAMM", "TRAINER.LAMM.PRESET", "official", "TRAINER.LAMM.LAMBDA_WC", "1.0",
                     "TRAINER.LAMM.LAMBDA_COS", "0.0")
    assert cfg.TRAINER.LAMM.LAMBDA_WC == 1.0 and cfg.TRAINER.LAMM.LAMBDA_COS == 0.0


def test_the_preset_touches_only_what_the_trainer_uses():
    lamm = preset_cfg("LAMM", "TRAINER.LAMM.PRESET", "official", "TRAINER.LAMM.LABEL_TOKENS", "shortest")
    assert lamm.TRAINER.LAMM.LAMBDA_WC == 1.0
    assert lamm.TRAINER.LAMM.MAPLE_LABEL_LAYOUT == "name"  # not a MaPLe trainer
    # CoOp ignores CSC when an init phrase is given: the preset shares the context.
    coop = preset_cfg("CoOp", "TRAINER.LAMM.PRESET", "official",
                      from_files=["TRAINER.COOP.CTX_INIT", "a photo of a", "TRAINER.COOP.CSC", "True"])
    assert coop.TRAINER.COOP.CSC is False and coop.TRAINER.LAMM.LAMBDA_WC == -1.0  # no labels: untouched
    with pytest.raises(ConfigError, match="CSC"):
        preset_cfg("CoOp", "TRAINER.LAMM.PRESET", "official", "TRAINER.COOP.CTX_INIT", "a photo of a",
                   "TRAINER.COOP.CSC", "True")
    assert preset_cfg("CoOp", "TRAINER.LAMM.PRESET", "official", "TRAINER.COOP.CSC", "True").TRAINER.COOP.CSC
    maple = preset_cfg("MaPLe", "TRAINER.LAMM.PRESET", "official")
    assert maple.TRAINER.LAMM.MAPLE_LABEL_LAYOUT == "name"  # MaPLe has no labels
    # The preset beats the config files (the shipped ones hold λ1 = 1/shots).
    files = ["TRAINER.LAMM.LAMBDA_WC", "0.25", "TRAINER.LAMM.COS_REDUCTION", "paper"]
    official = preset_cfg("CoOpLAMM", "TRAINER.LAMM.PRESET", "official", from_files=files)
    assert official.TRAINER.LAMM.LAMBDA_WC == 1.0 and official.TRAINER.LAMM.COS_REDUCTION == "official"
    default = preset_cfg("MaPLeLAMM", "TRAINER.LAMM.LAMBDA_WC", "0.25")
    assert default.TRAINER.LAMM.LAMBDA_WC == 0.25 and default.TRAINER.LAMM.MAPLE_LABEL_LAYOUT == "name"

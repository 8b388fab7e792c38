"""trainers/maple.py: the MaPLe trainers' checks and choices."""
import pytest

from lamm.errors import ConfigError
from tests.fixtures import tiny_trainer
from tools.synthetic.tiny_clip import save_tiny_clip


def test_maple_with_a_resnet_backbone_is_a_clear_error(caltech_root, tmp_path):
    resnet = save_tiny_clip(tmp_path / "tiny_rn.pt", vision="resnet")
    with pytest.raises(ConfigError, match="ResNet"):
        tiny_trainer("MaPLe", caltech_root, resnet, tmp_path / "run")


def test_the_layout_is_a_config_choice_and_the_default_is_the_paper(caltech_root, tiny_clip_file, tmp_path):
    trainer = tiny_trainer("MaPLeLAMM", caltech_root, tiny_clip_file, tmp_path / "a")
    cfg = trainer.cfg
    n_ctx = cfg.TRAINER.MAPLE.N_CTX
    assert cfg.TRAINER.LAMM.MAPLE_LABEL_LAYOUT == "name" and cfg.TRAINER.LAMM.PRESET == "default"
    assert int(trainer.model.prompt_learner.label_embeddings.positions.min()) == 1 + n_ctx + 2
    assert trainer.criterion.lambda_wc == 0.25  # the 4-shot config's 1/shots
    trainer = tiny_trainer("MaPLeLAMM", caltech_root, tiny_clip_file, tmp_path / "b",
                                    "TRAINER.LAMM.MAPLE_LABEL_LAYOUT", "official")
    cfg = trainer.cfg
    assert trainer.model.prompt_learner.label_embeddings.positions.tolist() == [1 + n_ctx] * trainer.num_classes
    with pytest.raises(ConfigError, match="MAPLE_LABEL_LAYOUT"):
        tiny_trainer("MaPLeLAMM", caltech_root, tiny_clip_file, tmp_path / "c", "TRAINER.LAMM.MAPLE_LABEL_LAYOUT", "of")

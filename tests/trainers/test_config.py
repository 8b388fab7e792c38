"""trainers/config.py: the project's config keys and the rules derived from them."""
import train
from tests.fixtures import train_args
from trainers.config import lambda_wc


def test_lambda_wc_follows_the_shots_a_config_is_run_at(caltech_root, tiny_clip_file, tmp_path):
    sixteen = "configs/trainers/LAMM/vit_b16_ep50_ctxv1_16shots.yaml"
    cfg = train.setup_cfg(train_args(caltech_root, tmp_path, config=sixteen, opts=["DATASET.NUM_SHOTS", "4"]))
    assert lambda_wc(cfg) == 0.25
    cfg = train.setup_cfg(train_args(caltech_root, tmp_path, config=sixteen, opts=["TRAINER.LAMM.LAMBDA_WC", "1"]))
    assert cfg.TRAINER.LAMM.LAMBDA_WC == 1.0 and isinstance(cfg.TRAINER.LAMM.LAMBDA_WC, float)

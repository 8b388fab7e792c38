"""trainers/config.py: the project's config keys, the rules derived from them, and config files with
_BASE_, the per-shot files, and yacs types."""
import pytest
import yaml

import train
from lamm.errors import ConfigError
from tests.fixtures import REPO_ROOT, train_args
from trainers.config import extend_cfg, lambda_wc, load_config_file, merge_checked


def test_lambda_wc_follows_the_shots_a_config_is_run_at(caltech_root, tiny_clip_file, tmp_path):
    sixteen = "configs/trainers/LAMM/vit_b16_ep50_ctxv1_16shots.yaml"
    cfg = train.setup_cfg(train_args(caltech_root, tmp_path, config=sixteen, opts=["DATASET.NUM_SHOTS", "4"]))
    assert lambda_wc(cfg) == 0.25
    cfg = train.setup_cfg(train_args(caltech_root, tmp_path, config=sixteen, opts=["TRAINER.LAMM.LAMBDA_WC", "1"]))
    assert cfg.TRAINER.LAMM.LAMBDA_WC == 1.0 and isinstance(cfg.TRAINER.LAMM.LAMBDA_WC, float)


def test_base_files_are_merged_under_the_including_file(tmp_path):
    (tmp_path / "shared").mkdir()
    (tmp_path / "shared" / "schedule.yaml").write_text("OPTIM:\n  LR: 0.002\n  MAX_EPOCH: 50\n")
    (tmp_path / "shared" / "labels.yaml").write_text("OPTIM:\n  MAX_EPOCH: 20\nTRAINER:\n  LAMM:\n    LAMBDA_KD: 0.1\n")
    (tmp_path / "base.yaml").write_text("_BASE_: [shared/schedule.yaml, shared/labels.yaml]\n")
    (tmp_path / "run_4shots.yaml").write_text("_BASE_: base.yaml\nDATASET:\n  NUM_SHOTS: 4\nOPTIM:\n  LR: 0.01\n")
    assert load_config_file(str(tmp_path / "run_4shots.yaml")) == {
        "OPTIM": {"LR": 0.01, "MAX_EPOCH": 20}, "TRAINER": {"LAMM": {"LAMBDA_KD": 0.1}}, "DATASET": {"NUM_SHOTS": 4}}

    (tmp_path / "loop.yaml").write_text("_BASE_: loop.yaml\n")
    with pytest.raises(ConfigError, match="_BASE_ loop"):
        load_config_file(str(tmp_path / "loop.yaml"))
    (tmp_path / "broken.yaml").write_text("_BASE_: nowhere.yaml\n")
    with pytest.raises(ConfigError, match=r"_BASE_ nowhere.yaml not found"):
        load_config_file(str(tmp_path / "broken.yaml"))


def test_what_the_shot_counts_share_lives_in_one_file():
    for trainer in ("CoOp", "LAMM", "CoOpLAMM", "MaPLe", "MaPLeLAMM"):
        for path in (REPO_ROOT / "configs" / "trainers" / trainer).glob("*shots.yaml"):
            loaded = yaml.safe_load(path.read_text())
            assert set(loaded) == {"_BASE_", "DATASET"} and set(loaded["DATASET"]) == {"NUM_SHOTS"}, path
            assert f"_{loaded['DATASET']['NUM_SHOTS']}shots.yaml" in path.name


def test_an_int_in_a_config_file_where_a_float_belongs_is_that_float(tmp_path):
    from dassl.config import get_cfg_default

    (tmp_path / "c.yaml").write_text("TRAINER:\n  LAMM:\n    LAMBDA_WC: 1\nOPTIM:\n  MAX_EPOCH: 3\n")
    cfg = get_cfg_default()
    extend_cfg(cfg)
    merge_checked(cfg, str(tmp_path / "c.yaml"))
    assert cfg.TRAINER.LAMM.LAMBDA_WC == 1.0 and isinstance(cfg.TRAINER.LAMM.LAMBDA_WC, float)
    with pytest.raises(ConfigError, match="Invalid value"):  # a float where an int belongs stays an error
        merge_checked(cfg, ["OPTIM.MAX_EPOCH", "2.5"])


def test_every_rule_names_a_key_of_the_config_and_the_defaults_pass_them():
    from dassl.config import get_cfg_default

    from trainers.config import DASSL_RULES, NODES, all_keys, check_values

    cfg = get_cfg_default()
    extend_cfg(cfg)
    keys = set(all_keys(cfg))
    for rules in (DASSL_RULES, *(rules for _, rules in NODES)):
        assert set(rules) <= keys, set(rules) - keys
    check_values(cfg)


@pytest.mark.parametrize("opts, message", [
    (["TRAINER.LAMM.ORIGINAL_CONTEXT", "paper"], r"TRAINER.LAMM.ORIGINAL_CONTEXT must be one of current, initial, got 'paper'"),
    (["TRAINER.LAMM.UNSEEN_CLASSES", "zero"], r"TRAINER.LAMM.UNSEEN_CLASSES must be one of error, init, got 'zero'"),
    (["DATASET.SUBSAMPLE_CLASSES", "novel"], r"DATASET.SUBSAMPLE_CLASSES must be all, base or new, got 'novel'"),
    (["TRAINER.LAMM.MAPLE_LABEL_LAYOUT", "of"], r"TRAINER.LAMM.MAPLE_LABEL_LAYOUT must be one of name, official"),
    (["TRAINER.MAPLE.PREC", "half"], r"TRAINER.MAPLE.PREC: Unknown precision 'half'"),
], ids=["ORIGINAL_CONTEXT", "UNSEEN_CLASSES", "SUBSAMPLE_CLASSES", "MAPLE_LABEL_LAYOUT", "MAPLE.PREC"])
def test_the_trainers_choices_are_checked_with_the_config_before_anything_is_built(opts, message, caltech_root, tmp_path):
    with pytest.raises(ConfigError, match=message):
        train.setup_cfg(train_args(caltech_root, tmp_path, opts=opts))


COOP_CONFIGS = ["configs/trainers/CoOp/vit_b16_ep50_ctxv1_16shots.yaml",
                "configs/trainers/CoOpLAMM/vit_b16_ep50_ctxv1_16shots.yaml",
                "configs/trainers/LAMM/vit_b16_ep50_ctxv1_16shots.yaml"]


@pytest.mark.parametrize("config", COOP_CONFIGS, ids=["CoOp", "CoOpLAMM", "LAMM"])
def test_an_n_ctx_that_ctx_init_would_override_is_an_error(config, caltech_root, tmp_path):
    trainer = config.split("/")[2]
    with pytest.raises(ConfigError, match=r"TRAINER.COOP.N_CTX 8 contradicts TRAINER.COOP.CTX_INIT 'a photo of a', "
                                          r"which sets the context length to its 4 tokens .*CTX_INIT \"\""):
        train.setup_cfg(train_args(caltech_root, tmp_path, trainer=trainer, config=config,
                                   opts=["TRAINER.COOP.N_CTX", "8"]))
    for opts in ([], ["TRAINER.COOP.N_CTX", "4"], ["TRAINER.COOP.N_CTX", "8", "TRAINER.COOP.CTX_INIT", ""],
                 ["TRAINER.LAMM.PRESET", "official"]):
        cfg = train.setup_cfg(train_args(caltech_root, tmp_path, trainer=trainer, config=config, opts=opts))
        assert cfg.TRAINER.COOP.N_CTX == (16 if not opts or opts[0] != "TRAINER.COOP.N_CTX" else int(opts[1]))


def test_n_ctx_in_a_config_file_that_ctx_init_overrides_is_an_error_and_maple_keeps_its_rule(caltech_root, tmp_path):
    (tmp_path / "c.yaml").write_text('_BASE_: %s\nTRAINER:\n  COOP:\n    N_CTX: 16\n'
                                     % (REPO_ROOT / "configs/trainers/CoOp/vit_b16_ep50_ctxv1.yaml"))
    with pytest.raises(ConfigError, match=r"TRAINER.COOP.N_CTX 16 contradicts"):
        train.setup_cfg(train_args(caltech_root, tmp_path, trainer="CoOp", config=str(tmp_path / "c.yaml")))
    maple = "configs/trainers/MaPLe/vit_b16_c2_ep5_batch4_2ctx_16shots.yaml"  # N_CTX 2 of "a photo of a"'s 4
    for n_ctx in ("1", "2", "6"):
        cfg = train.setup_cfg(train_args(caltech_root, tmp_path, trainer="MaPLe", config=maple,
                                         opts=["TRAINER.MAPLE.N_CTX", n_ctx]))
        assert cfg.TRAINER.MAPLE.N_CTX == int(n_ctx) and cfg.TRAINER.MAPLE.CTX_INIT == "a photo of a"


def test_cocoop_keeps_coops_context_rule(caltech_root, tmp_path):
    config = "configs/trainers/CoCoOp/vit_b16_c4_ep10_batch1_ctxv1_16shots.yaml"
    with pytest.raises(ConfigError, match=r"TRAINER.COCOOP.N_CTX 8 contradicts TRAINER.COCOOP.CTX_INIT 'a photo of a'"):
        train.setup_cfg(train_args(caltech_root, tmp_path, trainer="CoCoOp", config=config,
                                   opts=["TRAINER.COCOOP.N_CTX", "8"]))
    cfg = train.setup_cfg(train_args(caltech_root, tmp_path, trainer="CoCoOp", config=config,
                                     opts=["TRAINER.COCOOP.N_CTX", "8", "TRAINER.COCOOP.CTX_INIT", ""]))
    assert cfg.TRAINER.COCOOP.N_CTX == 8

"""tools/synthetic/tiny_open_clip.py: tiny random open_clip models of each layout and a locally built
tokenizer, and runs on them that predict.py, tools.export and tools.inspect_labels read."""
import json

import pytest

import predict
from lamm.backbones import load_backbone
from tests.fixtures import TINY_OVERRIDES, run_tool, run_train, trainer_config
from tests.open_clip_models import open_clip_models, open_clip_opts  # noqa: F401 (fixture)
from tests.trained_runs import predict_data, split_test_images  # noqa: F401 (fixture)
from tools import export, inspect_labels
from tools.synthetic.tiny_open_clip import build_tokenizer, tokenizer_vocabulary_size, write_model


def test_the_local_tokenizer_is_t5_like_and_spells_unknown_words(tmp_path):
    from transformers import AutoTokenizer

    folder = build_tokenizer(tmp_path / "tok")
    hf = AutoTokenizer.from_pretrained(folder)
    assert hf.pad_token_id == 0 and hf.eos_token_id == 1 and hf("a photo")["input_ids"][-1] == 1
    assert len(hf("zyzzyva", add_special_tokens=False)["input_ids"]) > 1  # not in the vocabulary: letters
    assert tokenizer_vocabulary_size(folder) == len(hf)


def test_a_real_shape_model_takes_its_tokenizer_from_here(tmp_path):
    config_path, _ = write_model(tmp_path, "siglip")
    config = json.loads(open(config_path).read())
    assert config["text_cfg"]["hf_tokenizer_name"] == str(tmp_path / "tokenizer")
    with pytest.raises(ValueError, match="no open_clip model"):
        write_model(tmp_path / "x", "real:ViT-Q-99")


@pytest.fixture(scope="module")
def siglip_run(open_clip_models, predict_data, tmp_path_factory):
    run = tmp_path_factory.mktemp("siglip_lamm") / "run"
    run_train("--root", predict_data, "--seed", "1", "--trainer", "CoOpLAMM",
              "--dataset-config-file", "configs/datasets/caltech101.yaml", "--config-file", trainer_config("CoOpLAMM"),
              "--output-dir", str(run), *open_clip_opts(open_clip_models, "siglip"), *TINY_OVERRIDES,
              "TRAINER.COOP.N_CTX", "4", "OPTIM.LR", "0.05")
    return run


def test_predict_gives_the_recorded_accuracy_on_an_open_clip_run(siglip_run, predict_data, capsys):
    images = split_test_images(predict_data)
    capsys.readouterr()
    predict.main(["--model-dir", str(siglip_run), "--format", "json", "--topk", "2",
                  *[path for path, _ in images]])
    results = json.loads(capsys.readouterr().out)["images"]
    correct = sum(r["predictions"][0]["index"] == label for r, (_, label) in zip(results, images))
    assert 100.0 * correct / len(images) == json.loads((siglip_run / "results.json").read_text())["accuracy"]


def test_export_names_the_weights_and_the_logit_bias(siglip_run, open_clip_models, tmp_path):
    run_tool(export.main, str(siglip_run), str(tmp_path / "classifier"))
    description = json.loads((tmp_path / "classifier.json").read_text())
    config, weights = open_clip_models["siglip"]
    assert description["backbone"] == f"open_clip:{config}" and description["backbone_weights"] == weights
    assert description["logit_bias"] == pytest.approx(-10.0) and description["preprocessing"]["resize_mode"] == "shortest"


def test_inspect_labels_finds_words_of_that_models_vocabulary(siglip_run, open_clip_models):
    config, weights = open_clip_models["siglip"]
    tokenizer = load_backbone(f"open_clip:{config}", weights).tokenizer
    words = {tokenizer.decode([i]).strip() for i in range(tokenizer.vocabulary_size())} - {"<pad>", "</s>", "<unk>"}
    report = inspect_labels.inspect_run(str(siglip_run), k=2)
    nearest = [word for row in report["classes"] for slot in row["nearest"] for word, _ in slot]
    assert nearest and all(word in words for word in nearest)
    # At the start, each label's nearest word is its own token: the word of the class name in that vocabulary.
    assert any(row["nearest"][0][0][0] in row["class"].lower() for row in report["classes"])
    code, output = run_tool(inspect_labels.main, str(siglip_run), "--words", "2")
    assert code == 0 and report["classes"][0]["class"] in output

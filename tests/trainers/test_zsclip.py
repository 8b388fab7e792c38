"""ZeroshotCLIP prompts each class with its dataset's hand-made template, read from the catalog."""
import dataclasses

from datasets import catalog
from tests.fixtures import tiny_trainer


def test_the_prompts_use_the_catalogs_template(caltech_root, tiny_clip_file, tmp_path, monkeypatch, capsys):
    # A template no table of CoOp's has: the prompts can only come from the catalog entry.
    info = dataclasses.replace(catalog.BY_NAME["Caltech101"], template="a blurry sketch of {}.")
    monkeypatch.setitem(catalog.BY_NAME, "Caltech101", info)
    trainer = tiny_trainer("ZeroshotCLIP", caltech_root, tiny_clip_file, str(tmp_path / "out"))
    classnames = trainer.dm.dataset.classnames
    expected = [f"a blurry sketch of {name.replace('_', ' ')}." for name in classnames]
    assert f"Prompts: {expected}" in capsys.readouterr().out
    assert trainer.text_features.shape[0] == len(classnames)

"""tools/synthetic/results.py: its records are the schema's and its folders the scripts' names."""
import json

from tools.runs import Run
from tools.runs.variants import VARIANTS
from tools.synthetic.results import LOSS_VARIANTS, make_output, variant_loss_terms
from trainers.record import FIELD_NAMES, Record


def test_the_loss_terms_of_a_variant_come_from_its_overrides():
    assert variant_loss_terms("woHL") == ("ce",) and variant_loss_terms("") == ("ce", "wc", "cos", "kd")
    assert variant_loss_terms("ce_cos_kd") == ("ce", "cos", "kd")
    # Table 4: every named variant that turns one or two terms off
    assert sorted(LOSS_VARIANTS) == sorted(n for n in VARIANTS if n.startswith("ce_"))
    assert all(len(terms) in (2, 3) and terms[0] == "ce" for terms in LOSS_VARIANTS.values())


def test_records_round_trip_and_folders_are_named_as_the_scripts_name_them(tmp_path):
    written = make_output(tmp_path, datasets=["Caltech101"], trainers=("LAMM",), shots=(4,), seeds=(2,),
                          kinds=("fewshot", "woHL"))
    run = Run("LAMM", "caltech101", 4, 2, str(tmp_path), "")
    assert f"{run.name}" in written and Record.read(run.run_dir).method == "LAMM"
    variant = Run("LAMM", "caltech101", 4, 2, str(tmp_path), "", variants=("woHL",))
    assert Record.read(variant.run_dir).loss == {"ce": 1.0}
    for path in tmp_path.rglob("results.json"):
        assert set(json.loads(path.read_text())) == set(FIELD_NAMES)

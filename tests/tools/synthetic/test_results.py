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


def test_every_trained_method_of_the_table_is_in_the_synthetic_tables(tmp_path, capsys):
    """CoCoOp and CoCoOpLAMM too: a row each in Table 1 (dg) and base-to-new, in the table's order."""
    import parse_test_res
    from tools.synthetic.results import EPOCHS, GAIN
    from trainers.methods import METHODS, table_order

    assert set(GAIN) == {name for name, m in METHODS.items() if m.few_shot}
    assert EPOCHS["CoCoOp"] == EPOCHS["CoCoOpLAMM"] == 10  # their configs' OPTIM.MAX_EPOCH
    make_output(tmp_path, datasets=["ImageNet", "Caltech101"], shots=(16,), seeds=(1,),
                kinds=("fewshot", "dg", "base2new"))
    assert parse_test_res.main([str(tmp_path), "--format", "json", "--table", "dg,base2new", "--datasets",
                                "found"]) == 0
    tables = {t["table"]: t for t in json.loads(capsys.readouterr().out)}
    labels = [METHODS[name].label for name in table_order()]
    assert [row["label"] for row in tables["dg"]["rows"]] == labels
    averages = [row["label"] for row in tables["base2new"]["rows"] if ":" not in row["label"]]
    assert averages == labels

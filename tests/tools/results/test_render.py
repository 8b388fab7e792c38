"""tools/results/render.py: how a cell is written."""
from tools.results.render import cell_text
from tools.results.stats import Stat


def test_a_cell_says_its_spread_coverage_and_problems():
    one = Stat(81.125, 0.0, 0.0, {"1": 81.125})
    assert cell_text(None) == "-" and cell_text(one) == "81.12"
    three = Stat(81.13, 0.21, 0.24, {"1": 81.0, "2": 81.2, "3": 81.2}, flags=("seed4 absent",), coverage=(3, 11))
    assert cell_text(three) == "81.13 ± 0.21 [3/11] *"
    assert cell_text(three, ci95=True) == "81.13 ± 0.24 [3/11] *"

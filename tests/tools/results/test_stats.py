"""tools/results/stats.py: means over seeds and over datasets, differences and harmonic means, against numpy."""
import numpy as np
import pytest

from tools.results.stats import Stat, average_stat, difference_stat, harmonic_mean_stat


def stat(per_seed, flags=()):
    values = list(per_seed.values())
    return Stat(float(np.mean(values)), float(np.std(values)), None, dict(per_seed), tuple(flags))


def test_an_average_is_the_mean_of_means_with_the_spread_over_shared_seeds():
    a, b = stat({"1": 80.0, "2": 82.0, "3": 90.0}), stat({"1": 60.0, "2": 64.0}, flags=("seed3 absent",))
    avg = average_stat({"Caltech101": a, "EuroSAT": b, "DescribableTextures": None},
                       ("Caltech101", "EuroSAT", "DescribableTextures"))
    assert avg.mean == pytest.approx(np.mean([a.mean, b.mean]))
    assert avg.per_seed == {"1": 70.0, "2": 73.0} and avg.std == pytest.approx(np.std([70.0, 73.0]))
    assert avg.coverage == (2, 3) and avg.missing == ("DescribableTextures",) and avg.incomplete
    assert avg.flags == ("seed3 absent",)
    assert average_stat({"EuroSAT": None}, ("EuroSAT",)) is None


def test_a_difference_is_paired_by_seed_and_a_harmonic_mean_is_of_the_means():
    a, b = stat({"1": 80.0, "2": 84.0}), stat({"1": 70.0, "2": 71.0, "3": 90.0})
    diff = difference_stat(a, b)
    assert diff.mean == pytest.approx(a.mean - b.mean) and diff.per_seed == {"1": 10.0, "2": 13.0}
    assert diff.std == pytest.approx(np.std([10.0, 13.0])) and "seeds without a pair: 3" in diff.flags
    hm = harmonic_mean_stat(a, b)
    assert hm.mean == pytest.approx(2 * a.mean * b.mean / (a.mean + b.mean))
    assert hm.per_seed["2"] == pytest.approx(2 * 84.0 * 71.0 / 155.0)
    assert difference_stat(a, None) is None and harmonic_mean_stat(None, b) is None

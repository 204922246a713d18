"""Power of a comparison: detectable Δ and seeds needed against statsmodels' own numbers on hand values, and the
table's words ("inconclusive at n seeds (detects ≥ X)")."""

import math
import statistics

import pytest
from statsmodels.stats.power import TTestIndPower

from yolo_attn.analysis.stats import power, power_note


def _pooled(a, b):
    n1, n2 = len(a), len(b)
    return math.sqrt(((n1 - 1) * statistics.variance(a) + (n2 - 1) * statistics.variance(b)) / (n1 + n2 - 2))


def test_detectable_delta_and_seeds_against_statsmodels():
    # hand values: pooled sd of [1, 3] and [0, 2] is sqrt(2); with 2 seeds a side statsmodels needs effect size
    # d = TTestIndPower().solve_power(nobs1=2, alpha=0.05, power=0.8) (about 5.65: df 2) -> detectable Δ = d * sqrt(2)
    p = power([1.0, 3.0], [0.0, 2.0])
    assert p["sd"] == pytest.approx(math.sqrt(2))
    d2 = TTestIndPower().solve_power(effect_size=None, nobs1=2, alpha=0.05, power=0.8, ratio=1.0)
    assert 5.6 < d2 < 5.7
    assert p["detectable"] == pytest.approx(d2 * math.sqrt(2))
    # observed Δ 1, d = 1 / sqrt(2): seeds a side = ceil(statsmodels' nobs1)
    n = TTestIndPower().solve_power(effect_size=1 / math.sqrt(2), nobs1=None, alpha=0.05, power=0.8, ratio=1.0)
    assert p["seeds_needed"] == math.ceil(n) and 30 < p["seeds_needed"] < 35  # about 32.4 -> 33


@pytest.mark.parametrize("a, b", [([0.31, 0.33, 0.30], [0.30, 0.29, 0.33, 0.31, 0.28]),
                                  ([0.50, 0.52, 0.49, 0.55], [0.41, 0.44, 0.40])])
def test_unequal_seed_counts_use_the_ratio(a, b):
    p = power(a, b)
    sd = _pooled(a, b)
    d = TTestIndPower().solve_power(effect_size=None, nobs1=len(a), alpha=0.05, power=0.8, ratio=len(b) / len(a))
    assert p["detectable"] == pytest.approx(d * sd)
    # the detectable Δ is found with 80 % power (statsmodels' forward direction agrees)
    back = TTestIndPower().power(effect_size=p["detectable"] / sd, nobs1=len(a), alpha=0.05, ratio=len(b) / len(a))
    assert back == pytest.approx(0.8, abs=1e-4)


def test_no_spread_or_one_seed_gives_no_numbers():
    assert power([0.3], [0.3, 0.31])["detectable"] is None
    assert power([0.3, 0.3], [0.3, 0.3])["detectable"] is None
    assert "no spread" in power_note(power([0.3, 0.3], [0.3, 0.3]), significant=False)
    assert power([0.3, 0.32], [0.31, 0.31])["seeds_needed"] == math.inf  # equal means: Δ 0 is never detected


def test_notes():
    p = power([0.30, 0.33, 0.31], [0.29, 0.32, 0.30])
    note = power_note(p, significant=False)
    assert note.startswith(f"inconclusive at 3 seeds (detects ≥ {p['detectable']:.4f} at 80% power, α 0.05")
    assert f"needs {p['seeds_needed']} seeds a side" in note
    assert power_note(power([0.5, 0.51], [0.3, 0.31, 0.3]), significant=True).startswith("power: detects ≥")
    assert "2+3 seeds" in power_note(power([0.5, 0.51], [0.3, 0.31, 0.3]), significant=True)


def test_a_large_delta_needs_two_seeds():
    a, b = [0.5, 0.51], [0.3, 0.31, 0.3]
    p = power(a, b)
    assert p["seeds_needed"] == 2
    d = (statistics.fmean(a) - statistics.fmean(b)) / _pooled(a, b)
    assert TTestIndPower().power(effect_size=d, nobs1=2, alpha=0.05, ratio=1.0) >= 0.8  # statsmodels: 2 suffice

"""Δ between two sets of seeds with a 95 % confidence interval (Welch's t), and its verdict for the tables.

``delta_ci(candidate, baseline)`` -> mean difference, interval and a note: "not significant" when the interval
contains 0, "one seed: no interval" when either side has a single seed (no variance estimate, so no interval).

``power(candidate, baseline)`` -> what the seeds could detect: the smallest Δ detectable at 80 % power and α 0.05
with these seeds and their pooled standard deviation, and the seeds per side needed to detect the observed Δ, both
from statsmodels' ``TTestIndPower`` (two-sample t-test, two-sided; effect size = Δ / pooled std).
"""

from __future__ import annotations

import math
import statistics

__all__ = ("delta_ci", "power", "power_note", "ONE_SEED", "POWER", "ALPHA")

ONE_SEED = "one seed: no interval (train more seeds, e.g. --seed 0 1 2)"


def delta_ci(candidate: list[float], baseline: list[float], level: float = 0.95) -> dict:
    """Mean(candidate) - mean(baseline) and its Welch confidence interval at ``level``.

    Returns ``{"delta", "lo", "hi", "df", "note"}``; ``lo``/``hi``/``df`` are None with one seed on either side.
    Welch: se = sqrt(s1²/n1 + s2²/n2), df by Welch-Satterthwaite, half-width = t_{(1+level)/2, df} * se.
    """
    from scipy import stats

    n1, n2 = len(candidate), len(baseline)
    if not n1 or not n2:
        raise ValueError("delta_ci: both sides need at least one value")
    d = statistics.fmean(candidate) - statistics.fmean(baseline)
    if n1 < 2 or n2 < 2:
        return {"delta": d, "lo": None, "hi": None, "df": None, "note": ONE_SEED}
    v1, v2 = statistics.variance(candidate) / n1, statistics.variance(baseline) / n2
    se = math.sqrt(v1 + v2)
    if se == 0:  # identical values on both sides: the interval is the point itself
        lo = hi = d
        df = float(n1 + n2 - 2)
    else:
        df = (v1 + v2) ** 2 / (v1 ** 2 / (n1 - 1) + v2 ** 2 / (n2 - 1))
        half = stats.t.ppf((1 + level) / 2, df) * se
        lo, hi = d - half, d + half
    pct = f"{100 * level:g} %"
    if lo <= 0 <= hi:
        note = f"not significant ({pct} CI contains 0)"
    else:
        note = f"{'better' if d > 0 else 'worse'} than the baseline ({pct} CI excludes 0)"
    return {"delta": d, "lo": lo, "hi": hi, "df": df, "note": note}


POWER, ALPHA = 0.8, 0.05
MAX_SEEDS = 10_000  # beyond this the observed Δ is, for any practical purpose, not detectable


def power(candidate: list[float], baseline: list[float], alpha: float = ALPHA, target: float = POWER) -> dict:
    """Detectable Δ and seeds needed, from statsmodels' ``TTestIndPower`` (two-sided).

    Returns ``{"n1", "n2", "sd", "detectable", "seeds_needed"}``: ``sd`` the pooled standard deviation,
    ``detectable`` the smallest |Δ| found with probability ``target`` at level ``alpha`` with these seeds (None with
    fewer than 2 seeds a side or zero spread), ``seeds_needed`` the seeds per side (same on both) to find the
    observed Δ (None without a spread; ``inf`` for Δ = 0 or more than ``MAX_SEEDS``).
    """
    from statsmodels.stats.power import TTestIndPower

    n1, n2 = len(candidate), len(baseline)
    out = {"n1": n1, "n2": n2, "sd": None, "detectable": None, "seeds_needed": None}
    if n1 < 2 or n2 < 2:
        return out
    sd = math.sqrt(((n1 - 1) * statistics.variance(candidate) + (n2 - 1) * statistics.variance(baseline)) / (n1 + n2 - 2))
    out["sd"] = sd
    if sd == 0:
        return out
    analysis = TTestIndPower()
    d_min = analysis.solve_power(effect_size=None, nobs1=n1, alpha=alpha, power=target, ratio=n2 / n1)
    out["detectable"] = float(d_min) * sd
    d_obs = abs(statistics.fmean(candidate) - statistics.fmean(baseline)) / sd
    if d_obs == 0:
        out["seeds_needed"] = math.inf
    elif analysis.power(effect_size=d_obs, nobs1=2, alpha=alpha, ratio=1.0) >= target:
        out["seeds_needed"] = 2  # a large Δ: the fewest seeds with a spread already find it (the solver has no root)
    else:
        import warnings

        with warnings.catch_warnings():  # statsmodels warns (and returns nan) when no n up to its bound suffices
            warnings.simplefilter("ignore")
            n = analysis.solve_power(effect_size=d_obs, nobs1=None, alpha=alpha, power=target, ratio=1.0)
        n = float(n) if n is not None else math.inf
        out["seeds_needed"] = math.ceil(n) if math.isfinite(n) and n <= MAX_SEEDS else math.inf
    return out


def power_note(p: dict, significant: bool) -> str:
    """The table's power statement: "inconclusive at n seeds (detects ≥ X)" for a non-significant row."""
    if p["detectable"] is None:
        return "power: no spread estimate (2+ seeds a side with different values needed)"
    seeds = f"{p['n1']}" if p["n1"] == p["n2"] else f"{p['n1']}+{p['n2']}"
    need = p["seeds_needed"]
    need_txt = ("the observed Δ is too small to detect with any practical number of seeds" if need == math.inf
                else f"the observed Δ needs {need} seeds a side")
    detects = f"detects ≥ {p['detectable']:.4f} at {POWER:.0%} power, α {ALPHA:g}"
    if significant:
        return f"power: {detects} with {seeds} seeds"
    return f"inconclusive at {seeds} seeds ({detects}; {need_txt})"

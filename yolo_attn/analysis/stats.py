"""Δ between two sets of seeds with a 95 % confidence interval (Welch's t), and its verdict for the tables.

``delta_ci(candidate, baseline)`` -> mean difference, interval and a note: "not significant" when the interval
contains 0, "one seed: no interval" when either side has a single seed (no variance estimate, so no interval).
"""

from __future__ import annotations

import math
import statistics

__all__ = ("delta_ci", "ONE_SEED")

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

"""The trade-off figure papers print: mAP50-95 against latency and against parameters, one point per config, the
baseline marked, the 95 % confidence interval of each config's mean over its seeds as error bars (t interval; no
bar for a single seed). Written by ``compare`` as ``tradeoff.png`` next to ``comparison.md``.
"""

from __future__ import annotations

import math
from pathlib import Path

__all__ = ("mean_ci_halfwidth", "tradeoff_points", "plot_tradeoff")


def mean_ci_halfwidth(std: float, n: int, level: float = 0.95) -> float:
    """Half-width of the t interval of a mean over ``n`` seeds (0 for one seed: no interval)."""
    from scipy import stats

    if n < 2:
        return 0.0
    return float(stats.t.ppf((1 + level) / 2, n - 1)) * std / math.sqrt(n)


def tradeoff_points(rows: list[dict]) -> list[dict]:
    """One point per config row (control rows left out): x latency / params, y mean mAP50-95 and its CI."""
    out = []
    for r in rows:
        if r["module"] == "control":
            continue
        out.append({"group": r["group"], "config": r["config"], "baseline": r["module"] == "none",
                    "latency_ms": r["latency_ms"] if r.get("latency_ms", "") != "" else None,
                    "params": r.get("params"), "mAP50-95": r["mAP50-95_mean"],
                    "ci": mean_ci_halfwidth(r["mAP50-95_std"], r["n_runs"])})
    return out


def plot_tradeoff(rows: list[dict], file) -> list[dict]:
    """Draw ``tradeoff.png`` (two panels); return the points drawn."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    pts = tradeoff_points(rows)
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.5))
    for ax, key, label in ((axes[0], "latency_ms", "latency ms (batch 1)"), (axes[1], "params", "parameters")):
        drawn = [p for p in pts if p[key] is not None]
        for p in drawn:
            ax.errorbar(p[key], p["mAP50-95"], yerr=p["ci"], fmt="s" if p["baseline"] else "o", capsize=4,
                        color="black" if p["baseline"] else "tab:blue", markersize=8 if p["baseline"] else 6)
            ax.annotate(p["config"] + (" (baseline)" if p["baseline"] else ""), (p[key], p["mAP50-95"]),
                        fontsize=7, xytext=(4, 4), textcoords="offset points")
        ax.set_xlabel(label)
        ax.set_ylabel("mAP50-95 (mean, 95 % CI over seeds)")
        if not drawn:
            ax.text(0.5, 0.5, "latency not measured (--latency-runs 0)", ha="center", transform=ax.transAxes)
    fig.suptitle("Accuracy against cost per config (black square: baseline)", fontsize=10)
    fig.tight_layout()
    fig.savefig(Path(file), dpi=120)
    plt.close(fig)
    return pts

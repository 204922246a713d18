"""The grid's module x placement heatmap of Δ mAP50-95 against the plain base.

Only cells whose 95 % interval excludes 0 get a colour from the diverging scale; a cell whose interval contains 0 (or
that has no interval: one seed) is drawn grey and hatched, and the legend says why, so noise is not read as signal
(issue 21.12). The title is a figure title over the whole width, and the figure is widened until it fits.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ("heatmap", "heatmap_figure", "cell_verdict", "missing_word", "NOT_SIGNIFICANT_GREY", "NO_CI_GREY")

NOT_SIGNIFICANT_GREY = "0.82"  # matplotlib grey level of cells whose 95 % CI contains 0
NO_CI_GREY = "0.92"  # cells with one seed: no interval, no verdict
_HATCH = "//"


def missing_word(cells, module, at, states: dict) -> str:
    """What a heatmap cell without a Δ says: its cells' worst state (failed, interrupted, not started), else "no Δ"
    (finished, but no finished base to compare with)."""
    words = {states.get(c.name, "") for c in cells if c.module == module and c.at == at}
    return next((w for w in ("failed", "interrupted", "not started") if w in words), "no Δ")


def cell_verdict(row: dict | None) -> str:
    """``failed`` (no Δ), ``no-ci`` (one seed), ``not-significant`` (CI contains 0) or ``significant``."""
    if not row or row.get("delta_mAP50-95", "") == "":
        return "failed"
    lo, hi = row.get("delta_mAP50-95_ci_lo", ""), row.get("delta_mAP50-95_ci_hi", "")
    if lo == "" or hi == "":
        return "no-ci"
    return "not-significant" if float(lo) <= 0 <= float(hi) else "significant"


def _label(row: dict | None, verdict: str, missing: str) -> str:
    if verdict == "failed":
        return missing
    txt = f"{float(row['delta_mAP50-95']):+.3f}"
    if verdict != "no-ci":
        txt += f"\n[{float(row['delta_mAP50-95_ci_lo']):+.3f}, {float(row['delta_mAP50-95_ci_hi']):+.3f}]"
    return txt


def heatmap_figure(rows: list[dict], cells, states: dict | None = None):
    """Build the figure; return ``(fig, ax, {(module, at): (delta or None, verdict)})``. ``states``: ``{cell name:
    status}``; a square without a Δ shows its cells' state (``missing_word``) instead of a number."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np
    from matplotlib.patches import Patch, Rectangle

    by_config = {r["config"]: r for r in rows if r["module"] not in ("control",)}
    modules = list(dict.fromkeys(c.module for c in cells if c.module))
    ats = list(dict.fromkeys(c.at for c in cells if c.module))
    base = Path(cells[0].base).stem
    cell = {(m, a): by_config.get(f"{base}-{m.lower()}-{a}") for m in modules for a in ats}
    verdict = {k: cell_verdict(r) for k, r in cell.items()}
    delta = {k: (None if verdict[k] == "failed" else float(r["delta_mAP50-95"])) for k, r in cell.items()}
    finite = [abs(d) for d in delta.values() if d is not None]
    lim = max(max(finite, default=0.0), 1e-3)
    coloured = np.array([[delta[(m, a)] if verdict[(m, a)] == "significant" else np.nan for a in ats] for m in modules],
                        float)
    fig, ax = plt.subplots(figsize=(2.2 + 1.5 * len(ats), 2.0 + 0.6 * len(modules)), dpi=120)
    im = ax.imshow(coloured, cmap="RdBu", vmin=-lim, vmax=lim, aspect="auto")  # NaN cells stay transparent
    grey = {"not-significant": NOT_SIGNIFICANT_GREY, "no-ci": NO_CI_GREY}
    for i, m in enumerate(modules):
        for j, a in enumerate(ats):
            v = verdict[(m, a)]
            if v in grey:
                ax.add_patch(Rectangle((j - 0.5, i - 0.5), 1, 1, facecolor=grey[v], edgecolor="0.6", hatch=_HATCH,
                                       linewidth=0, gid=f"{v}:{m}:{a}"))
            ax.text(j, i, _label(cell[(m, a)], v, missing_word(cells, m, a, states or {})), ha="center", va="center", fontsize=8,
                    bbox=dict(facecolor="white", alpha=0.7, linewidth=0) if v in grey else None)
    ax.set_xticks(range(len(ats)), ats)
    ax.set_yticks(range(len(modules)), modules)
    ax.set_xticks(np.arange(len(ats) + 1) - 0.5, minor=True)
    ax.set_yticks(np.arange(len(modules) + 1) - 0.5, minor=True)
    ax.grid(which="minor", color="white", linewidth=2)  # cell borders between neighbouring grey cells
    ax.tick_params(which="minor", length=0)
    fig.colorbar(im, ax=ax, label=f"Δ mAP50-95 vs {base}\n(significant cells only)")
    present = set(verdict.values())
    handles = [Patch(facecolor=grey[v], edgecolor="0.6", hatch=_HATCH, label=text) for v, text in (
        ("not-significant", "95 % CI contains 0: not different from the base"),
        ("no-ci", "one seed: no interval, no verdict")) if v in present]
    if handles:
        ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, -0.12), fontsize=7, frameon=False)
    title = fig.suptitle(f"{base} + attention: Δ mAP50-95 vs plain {base} (mean over seeds, 95 % CI)", fontsize=9)
    _fit(fig, title)
    return fig, ax, {k: (delta[k], verdict[k]) for k in cell}


def _fit(fig, title) -> None:
    """tight_layout, then widen the figure until the title fits inside it (a long base name clipped it)."""
    for _ in range(3):
        fig.tight_layout()
        fig.canvas.draw()
        box = title.get_window_extent()
        if box.x0 >= 0 and box.x1 <= fig.bbox.width:
            return
        fig.set_figwidth(box.width / fig.dpi + 0.4)


def heatmap(rows: list[dict], cells, file: Path, states: dict | None = None) -> dict:
    """Write the heatmap to ``file``; return ``{(module, at): delta or None}``."""
    import matplotlib.pyplot as plt

    fig, _, out = heatmap_figure(rows, cells, states)
    fig.savefig(file, dpi=fig.dpi)
    plt.close(fig)
    return {k: d for k, (d, _) in out.items()}

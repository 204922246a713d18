"""The grid heatmap colours only significant cells (issue 21.12) and its title is not clipped (22.10)."""

from types import SimpleNamespace

import numpy as np
import pytest
from PIL import Image

from yolo_attn.grid.heatmap import cell_verdict, heatmap, heatmap_figure


def _cells(base, modules, ats):
    cells = [SimpleNamespace(name=base, module=None, at=None, base=f"{base}.yaml")]
    return cells + [SimpleNamespace(name=f"{base}-{m.lower()}-{a}-seed0", module=m, at=a, base=f"{base}.yaml")
                    for m in modules for a in ats]


def _row(config, delta, lo="", hi=""):
    return {"config": config, "module": "x", "delta_mAP50-95": delta, "delta_mAP50-95_ci_lo": lo,
            "delta_mAP50-95_ci_hi": hi}


ROWS = [
    {"config": "yolov5n", "module": "none", "delta_mAP50-95": ""},
    _row("yolov5n-se-backbone", -0.021, -0.081, 0.038),  # CI contains 0
    _row("yolov5n-se-neck", 0.050, 0.010, 0.090),  # better, significant
    _row("yolov5n-simam-backbone", -0.040, -0.070, -0.010),  # worse, significant
    _row("yolov5n-simam-neck", 0.007),  # one seed: no interval
]


def _pixels(fig, ax, i, j, frac=0.35):
    """RGB pixels of a small square near the upper-left corner of cell (row i, column j), clear of the text."""
    fig.canvas.draw()
    rgba = np.asarray(fig.canvas.buffer_rgba())
    x, y = ax.transData.transform((j - 0.5 + frac / 2, i - 0.5 + frac / 2))
    r, c = int(round(rgba.shape[0] - y)), int(round(x))
    return rgba[r - 3:r + 3, c - 3:c + 3, :3].reshape(-1, 3).astype(int)


def _is_grey(px):
    return (np.ptp(px, axis=1) <= 6).all()


def test_verdicts():
    assert [cell_verdict(r) for r in ROWS[1:]] == ["not-significant", "significant", "significant", "no-ci"]
    assert cell_verdict(None) == "failed" and cell_verdict(ROWS[0]) == "failed"


def test_a_cell_without_delta_shows_its_state():
    import matplotlib.pyplot as plt

    rows = [r for r in ROWS if r["config"] != "yolov5n-se-neck"]
    fig, ax, out = heatmap_figure(rows, _cells("yolov5n", ["SE"], ["backbone", "neck"]),
                                  {"yolov5n-se-neck-seed0": "interrupted"})
    try:
        assert out[("SE", "neck")] == (None, "failed")
        assert "interrupted" in [t.get_text() for t in ax.texts]
    finally:
        plt.close(fig)
    assert cell_verdict(_row("c", "0.01", "0.0", "0.02")) == "not-significant"  # a bound at 0 contains 0 (CSV strings)


def test_only_significant_cells_get_colour(tmp_path):
    import matplotlib.pyplot as plt

    fig, ax, out = heatmap_figure(ROWS, _cells("yolov5n", ["SE", "SimAM"], ["backbone", "neck"]))
    try:
        assert out[("SE", "backbone")] == (pytest.approx(-0.021), "not-significant")
        assert _is_grey(_pixels(fig, ax, 0, 0))  # SE backbone: CI contains 0
        assert _is_grey(_pixels(fig, ax, 1, 1))  # SimAM neck: one seed
        better, worse = _pixels(fig, ax, 0, 1).mean(0), _pixels(fig, ax, 1, 0).mean(0)
        assert better[2] - better[0] > 40  # blue side of RdBu
        assert worse[0] - worse[2] > 40  # red side
        patches = {p.get_gid(): p for p in ax.patches if p.get_gid()}
        assert set(patches) == {"not-significant:SE:backbone", "no-ci:SimAM:neck"}
        assert all(p.get_hatch() for p in patches.values())
        labels = [t.get_text() for t in ax.get_legend().get_texts()]
        assert labels == ["95 % CI contains 0: not different from the base", "one seed: no interval, no verdict"]
    finally:
        plt.close(fig)
    f = tmp_path / "heatmap.png"
    assert heatmap(ROWS, _cells("yolov5n", ["SE", "SimAM"], ["backbone", "neck"]), f) == {
        ("SE", "backbone"): -0.021, ("SE", "neck"): 0.05, ("SimAM", "backbone"): -0.04, ("SimAM", "neck"): 0.007}
    assert Image.open(f).size[0] > 100


@pytest.mark.parametrize("base", ["yolov5n", "yolov5n-p2-very-long-custom-base"])
def test_title_is_inside_the_figure(base):
    import matplotlib.pyplot as plt

    rows = [{**r, "config": r["config"].replace("yolov5n", base, 1)} for r in ROWS]
    fig, ax, _ = heatmap_figure(rows, _cells(base, ["SE"], ["neck"]))  # one column: the narrowest figure
    try:
        fig.canvas.draw()
        box = fig._suptitle.get_window_extent()
        assert fig._suptitle.get_text().startswith(f"{base} + attention: Δ mAP50-95")
        assert 0 <= box.x0 and box.x1 <= fig.bbox.width and box.y1 <= fig.bbox.height
    finally:
        plt.close(fig)

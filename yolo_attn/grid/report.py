"""A grid's report: the comparison (``yolo_attn.analysis.compare``), a module x placement heatmap of Δ mAP50-95 against the
base, and a table with one row per cell (status, best mAP, node, error) appended to ``comparison.md`` and written to
``cells.csv``. A failed cell is listed with its error, never silently missing.
"""

from __future__ import annotations

import csv
from pathlib import Path

from yolo_attn.grid.heatmap import heatmap

__all__ = ("heatmap", "cells_table", "write_report")


def cells_table(cells, status: dict) -> list[dict]:
    """One row per cell, in grid order."""
    out = []
    for c in cells:
        s = status.get(c.name, {"status": "not run", "error": ""})
        out.append({"cell": c.name, "module": c.module or "none", "at": c.at or "", "seed": c.seed,
                    "status": s["status"], "mAP50": s.get("mAP50", ""), "mAP50-95": s.get("mAP50-95", ""),
                    "epochs": s.get("epochs", ""), "node_id": s.get("node_id", ""), "seconds": s.get("seconds", ""),
                    "torch_threads": s.get("torch_threads", ""),
                    "error": s.get("error", ""), "command": "python train_attn.py " + " ".join(c.argv)})
    return out


def write_report(grid_dir, cells, status: dict, device: str = "cpu", latency_runs: int = 20, wall_s=None) -> dict:
    """Comparison files + ``heatmap.png`` + ``cells.csv``; the cells table is appended to ``comparison.md``."""
    from yolo_attn.analysis.compare import compare

    grid_dir = Path(grid_dir)
    table = cells_table(cells, status)
    files = {"cells": grid_dir / "cells.csv"}
    with open(files["cells"], "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(table[0]))
        w.writeheader()
        w.writerows(table)
    rows, md = [], ""
    if any(r["status"] in ("finished", "skipped") for r in table):
        res = compare(grid_dir, device=device, latency_runs=latency_runs)
        rows, md = res["rows"], res["markdown"]
        files.update(res["files"])
        files["heatmap"] = grid_dir / "heatmap.png"
        heatmap(rows, cells, files["heatmap"])
    lines = ["", "## Cells", ""]
    if wall_s is not None:
        lines += [f"Grid wall time: {wall_s:.0f} s.", ""]
    lines += ["| cell | status | mAP50 | mAP50-95 | epochs | seconds | error |", "|---|---|---|---|---|---|---|"]
    for r in table:
        f4 = lambda v: f"{v:.4f}" if isinstance(v, float) else str(v)  # noqa: E731
        lines.append(f"| {r['cell']} | {r['status']} | {f4(r['mAP50'])} | {f4(r['mAP50-95'])} | {r['epochs']} | "
                     f"{r['seconds']} | {r['error'].replace('|', '/')} |")
    md = (md or "# Grid") + "\n" + "\n".join(lines) + "\n"
    files["md"] = grid_dir / "comparison.md"
    files["md"].write_text(md)
    return {"rows": rows, "cells": table, "markdown": md, "files": files}

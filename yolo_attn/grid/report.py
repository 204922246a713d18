"""A grid's report: the comparison (``yolo_attn.analysis.compare``), a module x placement heatmap of Δ mAP50-95 against the
base, and a table with one row per cell (status, best mAP, node, error) appended to ``comparison.md`` and written to
``cells.csv``. A failed cell is listed with its error, never silently missing.
"""

from __future__ import annotations

import csv
from pathlib import Path

from yolo_attn.grid.heatmap import heatmap

__all__ = ("heatmap", "cells_table", "write_report")


def _old_rows(file: Path) -> dict[str, dict]:
    """The cells of an earlier ``cells.csv`` by name ({} without one)."""
    if not file.is_file():
        return {}
    with open(file, newline="") as f:
        return {r["cell"]: r for r in csv.DictReader(f)}


def _disk_status(cell) -> dict:
    """A cell without a trial result (Ctrl-C): its state read from its folder."""
    from yolo_attn.grid.cells import DONE, PARTIAL, UNFINALISED, best_metrics, cell_state

    state = cell_state(cell.run_dir)
    word = "finished" if state in (DONE, UNFINALISED) else "interrupted" if state == PARTIAL else "not started"
    return {"status": word, "this_run": "", "error": "", **best_metrics(cell.run_dir)}


def cells_table(cells, status: dict, old: dict | None = None) -> list[dict]:
    """One row per cell, in grid order. A cell finished by an earlier invocation (``this_run`` skipped) keeps the
    record that invocation wrote in ``old`` (seconds, node, threads), so a rerun never blanks it."""
    out = []
    for c in cells:
        s = status.get(c.name) or _disk_status(c)
        row = {"cell": c.name, "module": c.module or "none", "at": c.at or "", "seed": c.seed,
               "status": s["status"], "this_run": s.get("this_run", ""), "mAP50": s.get("mAP50", ""),
               "mAP50-95": s.get("mAP50-95", ""), "epochs": s.get("epochs", ""), "node_id": s.get("node_id", ""),
               "seconds": s.get("seconds", ""), "torch_threads": s.get("torch_threads", ""),
               "error": s.get("error", ""), "command": "python train_attn.py " + " ".join(c.argv)}
        prev = (old or {}).get(c.name)
        if s.get("this_run") == "skipped" and prev and prev.get("status") in ("finished", "skipped"):
            row.update({k: prev[k] for k in ("node_id", "seconds", "torch_threads") if prev.get(k, "") != ""})
        out.append(row)
    return out


def _grid_wall(grid_dir: Path, wall_s, count: bool) -> float:
    """The grid's recorded wall time (``grid.json``: every invocation that trained, finalised or was interrupted),
    plus ``wall_s`` when ``count``; written back."""
    import json

    f = grid_dir / "grid.json"
    rec = json.loads(f.read_text()) if f.is_file() else {}
    total = float(rec.get("wall_s", 0.0))
    if count and wall_s is not None:
        total += float(wall_s)
        rec.update(wall_s=round(total, 1), invocations=int(rec.get("invocations", 0)) + 1)
        f.write_text(json.dumps(rec, indent=2) + "\n")
    return total


def write_report(grid_dir, cells, status: dict, device: str = "cpu", latency_runs: int = 20, wall_s=None,
                 count_wall: bool = True, retime: bool = False) -> dict:
    """Comparison files + ``heatmap.png`` + ``cells.csv`` + ``grid.json``; the cells table is appended to
    ``comparison.md``. ``count_wall``: this invocation's ``wall_s`` adds to the grid's recorded total (False for a
    rerun that trained nothing)."""
    from yolo_attn.analysis.compare import compare

    grid_dir = Path(grid_dir)
    grid_dir.mkdir(parents=True, exist_ok=True)
    files = {"cells": grid_dir / "cells.csv"}
    table = cells_table(cells, status, _old_rows(files["cells"]))
    with open(files["cells"], "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(table[0]))
        w.writeheader()
        w.writerows(table)
    total = _grid_wall(grid_dir, wall_s, count_wall)
    rows, md = [], ""
    if any(r["status"] == "finished" for r in table):
        res = compare(grid_dir, device=device, latency_runs=latency_runs, retime=retime)  # recorded timings reused
        rows, md = res["rows"], res["markdown"]
        files.update(res["files"])
        if any(c.module for c in cells):  # a grid of base cells only has no module x placement map
            files["heatmap"] = grid_dir / "heatmap.png"
            heatmap(rows, cells, files["heatmap"], {r["cell"]: r["status"] for r in table})
    lines = ["", "## Cells", ""]
    if wall_s is not None:
        lines += [f"Grid wall time: {total:.0f} s (every invocation that trained); this invocation: {wall_s:.0f} s"
                  + ("" if count_wall else " (trained nothing: every cell had finished)") + ".", ""]
    lines += ["| cell | status | this run | mAP50 | mAP50-95 | epochs | seconds | error |",
              "|---|---|---|---|---|---|---|---|"]
    for r in table:
        f4 = lambda v: f"{v:.4f}" if isinstance(v, float) else str(v)  # noqa: E731
        lines.append(f"| {r['cell']} | {r['status']} | {r['this_run']} | {f4(r['mAP50'])} | {f4(r['mAP50-95'])} | "
                     f"{r['epochs']} | {r['seconds']} | {r['error'].replace('|', '/')} |")
    md = (md or "# Grid") + "\n" + "\n".join(lines) + "\n"
    files["md"] = grid_dir / "comparison.md"
    files["md"].write_text(md)
    counts = {}
    for r in table:
        counts[r["status"]] = counts.get(r["status"], 0) + 1
    return {"rows": rows, "cells": table, "markdown": md, "files": files, "grid_wall_s": total, "counts": counts}

"""``ablate_attn.py --search``: the search stage (``yolo_attn.grid.search``), then a confirmation stage that retrains
the top-k configurations and the plain base over ``--confirm-seeds`` seeds at full length (an ordinary grid:
``yolo_attn.grid.run.run_grid`` in ``GRID/confirm``) and compares them (Δ, 95 % CI, power). Writes
``GRID/search.md`` and ``GRID/search.csv``: every trial with the epoch it stopped at and its last mAP50-95, the epochs
used against a full grid of the same space, and the confirmed table.
"""

from __future__ import annotations

import csv
import time
from pathlib import Path

from yolo_attn.errors import UsageError
from yolo_attn.grid.cells import Cell, best_metrics
from yolo_attn.grid.space import parse_ranges, point_dict, search_space, write_point_cfg

REUSED_FILE = "reused_from_search.json"  # confirmation cells copied from full-length search trials

__all__ = ("space_cells", "top_k", "confirm_cells", "reuse_full_trials", "write_search_report", "main_search")


def _cell(cfg: str, point, seed: int, folder: Path, common: list[str]) -> Cell:
    stem = Path(cfg).stem
    name = f"{stem}-seed{seed}"
    argv = [*common, "--cfg", cfg, "--seed", str(seed), "--project", str(folder), "--name", name, "--exist-ok"]
    return Cell(name, cfg, point.module if point else None, point.at if point else None, seed, str(folder / name),
                tuple(argv))


def space_cells(base: str, points, grid_dir: Path, common: list[str], seed: int = 0) -> list[Cell]:
    """One search trial per point (its yaml written to ``GRID/cfg``); a point that cannot be built is refused before
    any yaml is written."""
    dicts = []
    for p in points:
        try:
            dicts.append(point_dict(base, p))
        except (ValueError, KeyError, TypeError) as e:
            raise UsageError(f"--attn {p.module} --at {p.at} {p.label or ''}: cannot be built ({e}); drop it from "
                             f"the space (--attn / --at / --attn-args)")
    return [_cell(str(write_point_cfg(d, grid_dir / "cfg")), p, seed, grid_dir / "search", common)
            for p, d in zip(points, dicts)]


def top_k(records: list[dict], k: int) -> list[dict]:
    """The k best trials: those the scheduler let run longest first, then by their last mAP50-95."""
    ok = [r for r in records if r["status"] != "failed" and r["last_mAP50-95"] is not None]
    return sorted(ok, key=lambda r: (r["epochs"], r["last_mAP50-95"]), reverse=True)[:k]


def confirm_cells(base: str, chosen: list[dict], by_name: dict, seeds: list[int], folder: Path,
                  common: list[str]) -> list[Cell]:
    """The plain base and each chosen configuration, once per seed, full length."""
    cells = [_cell(base, None, s, folder, common) for s in seeds]
    for r in chosen:
        c = by_name[r["trial"]]
        cells += [Cell(x.name, x.base, c.module, c.at, x.seed, x.run_dir, x.argv)
                  for x in (_cell(c.base, None, s, folder, common) for s in seeds)]
    return cells


def reuse_full_trials(chosen: list[dict], by_name: dict, confirm: list[Cell]) -> list[str]:
    """A chosen trial that the scheduler let run to the full length is the confirmation run of its seed: the same
    command (config, seed, every setting; only the project folder differs), so its folder is copied into the
    confirmation grid, which then skips that cell as finished, instead of training it a second time. Returns the
    names of the confirmation cells taken over (a cell already there is left alone)."""
    import json
    import shutil

    reused = []
    for r in chosen:
        if r["status"] != "completed":
            continue
        trial = by_name[r["trial"]]
        for c in confirm:
            if c.base == trial.base and c.seed == trial.seed and not Path(c.run_dir).exists():
                Path(c.run_dir).parent.mkdir(parents=True, exist_ok=True)
                shutil.copytree(trial.run_dir, c.run_dir)
                reused.append(c.name)
    if reused:  # remembered, so a rerun of the finished search counts the epochs the same way
        record = Path(confirm[0].run_dir).parent / REUSED_FILE
        before = json.loads(record.read_text()) if record.is_file() else []
        record.write_text(json.dumps(sorted(set(before) | set(reused))))
    return reused


def _reused(grid_dir: Path, confirm: list[Cell]) -> list[str]:
    import json

    record = grid_dir / "confirm" / REUSED_FILE
    names = json.loads(record.read_text()) if record.is_file() else []
    return [c.name for c in confirm if c.name in names]


def _budget(records, confirm: list[Cell], n_points: int, epochs: int, seeds: int, reused=()) -> dict:
    search = sum(r["epochs"] for r in records)
    skip = set(reused)
    conf = sum(best_metrics(c.run_dir).get("epochs", 0) for c in confirm if c.name not in skip)
    full = (n_points + 1) * epochs * seeds
    return {"search_epochs": search, "confirm_epochs": conf, "total_epochs": search + conf, "full_grid_epochs": full,
            "fraction": (search + conf) / full if full else None, "reused": list(reused)}


def write_search_report(grid_dir: Path, records: list[dict], budget: dict, rows: list[dict], wall: float) -> dict:
    """``search.csv`` (one row per trial) and ``search.md`` (trials, budget, confirmed table)."""
    files = {"csv": grid_dir / "search.csv", "md": grid_dir / "search.md"}
    with open(files["csv"], "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(records[0]))
        w.writeheader()
        w.writerows(records)
    lines = ["# Search", "", "| trial | module | at | epochs trained | last mAP50-95 | status | error |",
             "|---|---|---|---|---|---|---|"]
    for r in records:
        m = "" if r["last_mAP50-95"] is None else f"{r['last_mAP50-95']:.4f}"
        lines.append(f"| {r['trial']} | {r['module']} | {r['at']} | {r['epochs']} | {m} | {r['status']} | "
                     f"{r['error'].replace('|', '/')} |")
    frac = "" if budget["fraction"] is None else f" = {budget['fraction']:.0%} of"
    lines += ["", f"Epochs: search {budget['search_epochs']} + confirmation {budget['confirm_epochs']} = "
              f"{budget['total_epochs']}{frac} a full grid of the same space over the confirmation seeds "
              f"({budget['full_grid_epochs']} epochs). Wall time of this invocation: {wall:.0f} s." +
              (f" The confirmation took over {len(budget['reused'])} full-length search trial(s) as its run(s) of the "
               f"same seed ({', '.join(budget['reused'])}: same command), counted once, in the search."
               if budget.get("reused") else ""), "",
              "## Confirmed (top-k and the base over the confirmation seeds)", "",
              "| config | module | seeds | mAP50-95 | Δ mAP50-95 [95 % CI] | note |", "|---|---|---|---|---|---|"]
    for r in rows:
        if r["module"] == "control":
            continue
        d = "" if r["delta_mAP50-95"] == "" else f"{r['delta_mAP50-95']:+.4f}"
        if r.get("delta_mAP50-95_ci_lo", "") != "":
            d += f" [{r['delta_mAP50-95_ci_lo']:+.4f}, {r['delta_mAP50-95_ci_hi']:+.4f}]"
        lines.append(f"| {r['config']} | {r['module']} | {r['seeds']} | {r['mAP50-95_mean']:.4f} ± "
                     f"{r['mAP50-95_std']:.4f} | {d} | {r['delta_note']} |")
    files["md"].write_text("\n".join(lines) + "\n")
    return files


def main_search(args, common: list[str], modules: list[str], ats: list[str], grid_dir: Path, cpus: float,
                gpus: float, train_argv) -> dict:
    """Search, confirm, report (the ``--search`` branch of ``ablate_attn.py``); ``train_argv`` trains one cell's
    command line, as for ``run_grid``."""
    from yolo_attn.analysis.compare import compare
    from yolo_attn.graph.placement import parse_attn_args
    from yolo_attn.grid.lock import grid_lock
    from yolo_attn.grid.run import run_grid
    from yolo_attn.grid.search import run_search

    if "--epochs" not in common:
        raise UsageError("--search: give the full training length with --epochs N (the scheduler's last rung)")
    epochs = int(common[common.index("--epochs") + 1])
    text = args.attn_args or ""
    points = search_space(modules, ats, parse_ranges(text) if "=" in text else {})
    if "=" not in text and text:
        points = [type(p)(p.module, p.at, tuple(parse_attn_args(text)), "") for p in points]
    t0 = time.time()
    with grid_lock(grid_dir, "search"):
        cells = space_cells(args.base, points, grid_dir, common)
        records = run_search(cells, grid_dir, train_argv=train_argv, epochs=epochs, grace=args.grace_period, reduction=args.reduction_factor,
                             budget=args.budget, time_budget=args.time_budget, cpus=cpus, gpus=gpus,
                             max_concurrent=args.max_concurrent, address=args.ray_address, metric=args.search_metric)
        chosen = top_k(records, args.top_k)
        print("search: confirming " + ", ".join(f"{r['trial']} ({r['epochs']} ep, {r['last_mAP50-95']:.4f})"
                                                for r in chosen) + f" and the base over seeds {args.confirm_seeds}")
        conf = confirm_cells(args.base, chosen, {c.name: c for c in cells}, args.confirm_seeds,
                             grid_dir / "confirm", common)
        reused = reuse_full_trials(chosen, {c.name: c for c in cells}, conf)
        if reused:
            print(f"search: {', '.join(reused)} = the search's full-length trial (same command and seed), not trained "
                  "again")
        status = run_grid(conf, grid_dir / "confirm", train_argv=train_argv, cpus_per_trial=cpus, gpus_per_trial=gpus,
                          max_concurrent=args.max_concurrent, retries=args.retries, address=args.ray_address)
        if status.pop("_interrupted", False):
            raise KeyboardInterrupt
        rows = compare(grid_dir / "confirm", device=args.latency_device, latency_runs=args.latency_runs,
                       retime=args.retime)["rows"]
        budget = _budget(records, conf, len(points), epochs, len(args.confirm_seeds), _reused(grid_dir, conf))
        files = write_search_report(grid_dir, records, budget, rows, time.time() - t0)
    print(files["md"].read_text())
    return {"trials": records, "chosen": chosen, "rows": rows, "budget": budget, "files": files}

"""``ablate_attn.py`` as a library: parse the grid flags, plan the cells, run them on Ray, write the report."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from yolo_attn.errors import UsageError
from yolo_attn.user_imports import add_import_arg, use_imports

__all__ = ("build_parser", "common_train_argv", "main")

# train_attn.py flags a grid sets per cell (or refuses): the value on the ablate_attn.py line would be wrong for cells
_REFUSED = {
    "cfg": "use --base (the plain model every cell starts from)",
    "device": "the grid gives each trial its GPUs (--gpus-per-trial); ultralytics then uses the one Ray assigned",
    "resume": "rerun the same ablate_attn.py command: finished cells are skipped, interrupted ones resume",
    "exist_ok": "cells always reuse their own folder",
    "scale": "write the scale in --base (yolov5s.yaml)",
}


def build_parser(doc: str | None = None) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    g = p.add_argument_group("grid")
    g.add_argument("--base", default="yolov5n.yaml", help="plain model yaml every cell starts from (any ultralytics detector)")
    g.add_argument("--attn", default="SE,CBAM,SimAM", help="comma list of attention modules, or 'all' (every registered one)")
    g.add_argument("--at", default="backbone,neck",
                   help="comma list of placements, one grid column each (backbone, stages, neck, 6+8, backbone+neck)")
    g.add_argument("--attn-args", default=None, help="module args for every module, e.g. 8 (default: each module's defaults)")
    g.add_argument("--seed", type=int, nargs="+", default=[0, 1, 2], help="seeds: every cell once per seed")
    g.add_argument("--project", default="runs", help="cells land in PROJECT/NAME/<cell> (shared storage on a cluster)")
    g.add_argument("--name", default="ablation", help="grid folder name under PROJECT")
    add_import_arg(g)
    r = p.add_argument_group("Ray")
    r.add_argument("--gpus-per-trial", type=float, default=None, help="GPUs per cell (default: 1 with CUDA, else 0)")
    r.add_argument("--cpus-per-trial", type=float, default=None,
                   help="CPUs per cell (default: 1 without GPUs; with GPUs, this machine's CPUs / GPUs)")
    r.add_argument("--max-concurrent", type=int, default=None, help="at most this many cells at once (default: as resources allow)")
    r.add_argument("--ray-address", default=None,
                   help="join a running cluster: auto, HOST:PORT or ray://HOST:10001 (default: $RAY_ADDRESS, else a local cluster)")
    r.add_argument("--retries", type=int, default=1, help="retries of a failed cell before it is reported failed")
    s = p.add_argument_group("search (--search: early-stopped search, then the top-k confirmed over seeds)")
    s.add_argument("--search", action="store_true",
                   help="ASHA search over modules x placements x --attn-args ranges (e.g. 'reduction=8,16,32;factor=8,16')")
    s.add_argument("--budget", type=int, default=None, help="stop the search once its trials trained this many epochs")
    s.add_argument("--time-budget", type=float, default=None, help="stop the search after this many seconds")
    s.add_argument("--top-k", type=int, default=2, help="configurations confirmed over seeds (default 2)")
    s.add_argument("--confirm-seeds", type=int, nargs="+", default=[0, 1, 2], help="seeds of the confirmation stage")
    s.add_argument("--grace-period", type=int, default=1, help="ASHA: epochs before a trial can be stopped")
    s.add_argument("--reduction-factor", type=float, default=2, help="ASHA: 1/this of the trials go on at each rung")
    s.add_argument("--search-metric", default="metrics/mAP50-95(B)",
                   help="what ASHA ranks by: a results.csv column; a *loss column (val/cls_loss) ranks lowest first")
    c = p.add_argument_group("report")
    c.add_argument("--latency-device", default="cpu", help="device of the comparison's latency column: cpu or a GPU index")
    c.add_argument("--latency-runs", type=int, default=20, help="interleaved latency rounds per model (0: no latency column; timing on a busy machine means little)")
    c.add_argument("--retime", action="store_true",
                   help="time every model's latency again (default: a rerun reuses the timings recorded for the same "
                        "checkpoints, device and rounds)")
    p.epilog = ("Every other train_attn.py flag (--data --imgsz --batch-size --epochs --weights --workers --compile) and "
                "key=value settings are passed to every cell. Default --data: the embedded hard set (shapes-hard).")
    return p


def common_train_argv(rest: list[str]) -> list[str]:
    """Validate the train_attn.py flags left over by the grid parser; return them normalised for every cell."""
    from yolo_attn.cli.passthrough import pass_through
    from yolo_attn.cli.train import fill_demo_defaults, parse_args, resolve_data_alias

    targs, extra = parse_args(rest)
    defaults, _ = parse_args([])
    for key, why in _REFUSED.items():
        if getattr(targs, key) != getattr(defaults, key):
            raise UsageError(f"--{key.replace('_', '-')} is not an ablate_attn.py flag: {why}")
    pass_through(extra)  # a bad key=value fails now, not in every cell
    data = resolve_data_alias(targs.data or "shapes-hard")
    if data != targs.data:  # the embedded hard set: the demo's defaults, written out (the cells see a path)
        fill_demo_defaults(targs)
    if Path(data).is_file():  # trials may run in another working directory or on another node
        data = str(Path(data).resolve())
    argv = ["--data", data]
    for flag, v in (("--epochs", targs.epochs), ("--imgsz", targs.imgsz), ("--batch-size", targs.batch_size),
                    ("--workers", targs.workers)):
        if v is not None:  # otherwise train() picks its data-dependent default, as for train_attn.py
            argv += [flag, str(v)]
    if targs.weights:
        argv += ["--weights", str(Path(targs.weights).resolve())]
    if targs.compile:
        argv.append("--compile")
    if targs.protocol != defaults.protocol:  # every cell validates alike
        argv += ["--protocol", targs.protocol]
    return argv + list(extra)


def _modules(text: str) -> list[str]:
    from yolo_attn import ATTENTION_REGISTRY
    from yolo_attn.registry import registered_name

    if text.strip().lower() == "all":
        return list(ATTENTION_REGISTRY)
    out = []
    for m in (t.strip() for t in text.split(",") if t.strip()):
        match = registered_name(m)
        if match is None:
            raise UsageError(f"--attn {m}: not a registered attention module; registered: {', '.join(ATTENTION_REGISTRY)}")
        out.append(match)
    return out


def _write_cfgs(base: str, modules: list[str], ats: list[str], attn_args, grid_dir: Path) -> dict[tuple, str]:
    """Write every cell's model yaml to ``GRID/cfg`` once, before the trials (seeds then only read the same file).

    Returns ``{(module, at): error}`` for the combinations that cannot be built; those cells still run as trials, fail
    there the same way ``train_attn.py`` would, and are reported failed with that error.
    """
    from yolo_attn.graph.placement import generate_cfg, parse_at, parse_attn_args

    errors = {}
    for m in modules:
        for at in ats:
            try:
                generate_cfg(base, m, parse_at(at.replace("+", ",")), parse_attn_args(attn_args or ""), grid_dir / "cfg")
            except (ValueError, KeyError, TypeError) as e:
                errors[(m, at)] = str(e.args[0] if isinstance(e, KeyError) else e)
    return errors


def main(argv=None, doc: str | None = None) -> dict:
    """Run the grid described by ``ablate_attn.py`` arguments; return the report dict."""
    import torch

    from yolo_attn.cli.train import run as train_run
    from yolo_attn.grid.run import require_ray, run_grid
    from yolo_attn.grid.cells import plan_cells
    from yolo_attn.grid.lock import grid_lock
    from yolo_attn.grid.report import write_report

    from yolo_attn.cli.passthrough import end_values_at_settings

    args, rest = build_parser(doc).parse_known_args(end_values_at_settings(argv))  # --seed 0 1 lr0=0.01
    require_ray()  # before anything else: without Ray, say how to install it
    use_imports(args.imports)  # here, and in every trial through $YOLO_ATTN_IMPORT (init_ray passes it on)
    common = common_train_argv(rest)
    modules = _modules(args.attn)
    ats = [a.strip() for a in args.at.split(",") if a.strip()]
    if not ats:
        raise UsageError("--at: give at least one placement, e.g. --at backbone,neck")
    grid_dir = Path(args.project).resolve() / args.name
    cells = plan_cells(args.base, modules, ats, args.seed, grid_dir, common, args.attn_args)

    def prepare():  # after Ray accepted us: a refused join writes nothing
        for (m, at), err in _write_cfgs(args.base, modules, ats, args.attn_args, grid_dir).items():
            print(f"grid: warning: {m} at {at} cannot be built, its cells will fail: {err}", flush=True)

    gpus = args.gpus_per_trial if args.gpus_per_trial is not None else (1 if torch.cuda.is_available() else 0)
    if args.cpus_per_trial is not None:
        cpus = args.cpus_per_trial
    else:
        import os

        cpus = max(1, (os.cpu_count() or 1) // max(1, torch.cuda.device_count())) if gpus else 1
    if args.search:  # the search's own stages and report (yolo_attn.grid.confirm)
        from yolo_attn.grid.confirm import main_search

        try:
            return main_search(args, common, modules, ats, grid_dir, cpus, gpus, train_run)
        except KeyboardInterrupt:
            print("search: interrupted; rerun the same command to resume it", flush=True)
            raise SystemExit(130)
    t0 = time.time()
    with grid_lock(grid_dir, "grid"):  # a second identical grid stops here: one error line, nothing written
        try:
            status = run_grid(cells, grid_dir, train_argv=train_run, cpus_per_trial=cpus, gpus_per_trial=gpus,
                              max_concurrent=args.max_concurrent, retries=args.retries, address=args.ray_address,
                              prepare=prepare)
        except KeyboardInterrupt:  # Ctrl-C before or after the trials ran: the folders tell each cell's state
            status = {"_interrupted": True}
        interrupted = bool(status.pop("_interrupted", False))
        wall = time.time() - t0
        trained = any(s.get("this_run") != "skipped" for s in status.values()) or interrupted
        report = write_report(grid_dir, cells, status, args.latency_device, args.latency_runs, wall_s=wall,
                              count_wall=trained, retime=args.retime)
    print(report["markdown"])
    print(f"grid: {len(cells)} cells, {report['counts'].get('failed', 0)} failed, wall time {wall:.0f} s "
          f"(grid total {report['grid_wall_s']:.0f} s); written: " + ", ".join(str(f) for f in report["files"].values()))
    if interrupted:
        n = report["counts"]
        print(f"grid: interrupted: {n.get('finished', 0)} cells finished, {n.get('interrupted', 0)} interrupted (they "
              f"resume from their last.pt), {n.get('not started', 0)} not started; rerun the same command to complete "
              f"the grid", flush=True)
        raise SystemExit(130)
    failed = [r["cell"] for r in report["cells"] if r["status"] == "failed"]
    if failed:
        print(f"grid: failed cells (see the error column): {', '.join(failed)}; rerun the same command to retry them")
        raise SystemExit(1)  # the report is written; the exit status tells scripts that cells are missing
    return report

"""Compare training runs (``compare_attn.py`` is a thin CLI on this).

Finds ultralytics run folders (``args.yaml`` + ``results.csv`` + ``weights/best.pt``) under a directory, groups them
by (data, imgsz, epochs) so that runs on different data or image sizes are never mixed, averages seeds per config
and writes ``comparison.md``, ``comparison.csv`` and ``comparison.png``. mAP figures are the best epoch's (the epoch
ultralytics saved as ``best.pt``: highest mAP50-95). Params and GFLOPs come from ultralytics' ``get_num_params`` /
``get_flops`` (thop); latency is measured here, batch 1, on the device named in the table.
"""

from __future__ import annotations

import csv
import re
import statistics
import time
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from yolo_attn.checks import UsageError

__all__ = ("Run", "find_runs", "summarise", "compare", "measure_latency")

_CSV_FIELDS = (
    "group", "data", "imgsz", "epochs", "config", "module", "scale", "seeds", "n_runs", "mAP50_mean", "mAP50_std",
    "mAP50-95_mean", "mAP50-95_std", "delta_mAP50", "delta_mAP50-95", "delta_note", "params", "GFLOPs",
    "latency_ms", "device", "runs",
)


@dataclass
class Run:
    """One training run: where it is, what it trained, its best-epoch figures."""

    path: Path
    config: str  # e.g. yolov5n-simam
    module: str  # e.g. SimAM part of the name: "simam"; "none" for the plain model
    scale: str
    data: str  # dataset yaml path as the run recorded it
    imgsz: int
    epochs: int
    seed: int
    map50: float
    map50_95: float
    extra: dict = field(default_factory=dict)


def _parse_config(model: str) -> tuple[str, str, str]:
    """``.../yolov5n-simam.yaml`` -> ("yolov5n-simam", "simam", "n"); a plain ``yolov5s`` -> (.., "none", "s")."""
    stem = Path(str(model)).stem
    m = re.fullmatch(r"yolov5([nslmx])u?(?:-(.+))?", stem)
    if not m:
        return stem, stem, "?"
    return stem, m.group(2) or "none", m.group(1)


def _best_row(results_csv: Path) -> dict | None:
    with open(results_csv, newline="") as f:
        rows = [{k.strip(): v.strip() for k, v in r.items()} for r in csv.DictReader(f)]
    rows = [r for r in rows if r.get("metrics/mAP50-95(B)")]
    return max(reversed(rows), key=lambda r: float(r["metrics/mAP50-95(B)"])) if rows else None


def find_runs(root) -> list[Run]:
    """Every finished-enough run under ``root`` (any depth); runs without a validated epoch are skipped."""
    root = Path(root)
    if not root.is_dir():
        raise UsageError(f"{root}: no such runs folder; train first (python train_attn.py ...) or give RUNS_DIR")
    runs = []
    for args_file in sorted(root.rglob("args.yaml")):
        d = args_file.parent
        if not (d / "results.csv").is_file() or not (d / "weights" / "best.pt").is_file():
            continue
        args = yaml.safe_load(args_file.read_text()) or {}
        if args.get("task", "detect") != "detect" or args.get("mode", "train") != "train":
            continue
        best = _best_row(d / "results.csv")
        if best is None:
            continue
        config, module, scale = _parse_config(args.get("model", ""))
        runs.append(Run(
            path=d, config=config, module=module, scale=scale, data=str(args.get("data")), imgsz=int(args.get("imgsz")),
            epochs=int(args.get("epochs")), seed=int(args.get("seed", 0)),
            map50=float(best["metrics/mAP50(B)"]), map50_95=float(best["metrics/mAP50-95(B)"]),
        ))
    return runs


def _mean_std(xs: list[float]) -> tuple[float, float]:
    return statistics.fmean(xs), (statistics.stdev(xs) if len(xs) > 1 else 0.0)


def _device_name(device: str) -> str:
    import torch
    from ultralytics.utils.torch_utils import get_cpu_info

    import os

    name = torch.cuda.get_device_name(int(device)) if device != "cpu" else f"CPU {get_cpu_info()}, {torch.get_num_threads()} threads"
    return f"{name} (1-min load average {os.getloadavg()[0]:.1f} while measuring)"  # a busy machine inflates latency


def measure_latency(weights: Path, imgsz: int, device: str = "cpu", n: int = 20) -> dict:
    """Params, GFLOPs and median batch-1 forward latency (ms) of a fused checkpoint at ``imgsz``."""
    import torch
    from ultralytics.nn.tasks import load_checkpoint
    from ultralytics.utils.torch_utils import get_flops, get_num_params

    model, _ = load_checkpoint(str(weights), device="cpu")
    model = model.float().fuse().eval().to("cpu" if device == "cpu" else f"cuda:{device}")
    params, gflops = get_num_params(model), get_flops(model, imgsz)
    x = torch.zeros(1, 3, imgsz, imgsz, device=next(model.parameters()).device)
    times = []
    with torch.inference_mode():
        for i in range(n + 3):  # 3 warm-up passes
            if device != "cpu":
                torch.cuda.synchronize()
            t = time.perf_counter()
            model(x)
            if device != "cpu":
                torch.cuda.synchronize()
            if i >= 3:
                times.append((time.perf_counter() - t) * 1000)
    return {"params": params, "GFLOPs": round(gflops, 3), "latency_ms": round(statistics.median(times), 2)}


def summarise(runs: list[Run], device: str = "cpu", latency_runs: int = 20) -> list[dict]:
    """One row per (group, config): seed mean ± std, Δ vs the plain yolov5 of the same scale in the group."""
    groups: dict[tuple, dict[str, list[Run]]] = {}
    for r in runs:
        groups.setdefault((r.data, r.imgsz, r.epochs), {}).setdefault(r.config, []).append(r)
    device_name = _device_name(device)
    rows = []
    for gi, ((data, imgsz, epochs), by_config) in enumerate(sorted(groups.items()), 1):
        stats = {}
        for config, rs in by_config.items():
            m50, s50 = _mean_std([r.map50 for r in rs])
            m95, s95 = _mean_std([r.map50_95 for r in rs])
            stats[config] = (m50, s50, m95, s95, len(rs))
        for config in sorted(by_config, key=lambda c: (by_config[c][0].scale, by_config[c][0].module != "none", c)):
            rs = sorted(by_config[config], key=lambda r: r.seed)
            m50, s50, m95, s95, n = stats[config]
            base = f"yolov5{rs[0].scale}"
            row = {
                "group": gi, "data": data, "imgsz": imgsz, "epochs": epochs, "config": config, "module": rs[0].module,
                "scale": rs[0].scale, "seeds": " ".join(str(r.seed) for r in rs), "n_runs": n,
                "mAP50_mean": round(m50, 4), "mAP50_std": round(s50, 4), "mAP50-95_mean": round(m95, 4),
                "mAP50-95_std": round(s95, 4), "delta_mAP50": "", "delta_mAP50-95": "", "delta_note": "",
                "runs": " ".join(str(r.path) for r in rs),
            }
            if rs[0].module == "none":
                row["delta_note"] = "baseline"
            elif base in stats:
                b50, bs50, b95, bs95, bn = stats[base]
                d50, d95 = m50 - b50, m95 - b95
                row["delta_mAP50"], row["delta_mAP50-95"] = round(d50, 4), round(d95, 4)
                spread = max(s95, bs95)
                if n < 2 or bn < 2:
                    row["delta_note"] = "one seed: spread unknown, train more seeds (--seed 0 1 2)"
                elif abs(d95) <= spread:
                    row["delta_note"] = f"inside the seed spread (|Δ| {abs(d95):.4f} <= std {spread:.4f}): no evidence of a difference"
                else:
                    row["delta_note"] = f"outside the seed spread (std {spread:.4f})"
            else:
                row["delta_note"] = f"no {base} run on this data/imgsz/epochs to compare with"
            best = max(rs, key=lambda r: r.map50_95).path / "weights" / "best.pt"
            row.update(measure_latency(best, imgsz, device, latency_runs))
            row["device"] = device_name
            rows.append(row)
    return rows


def _pm(m, s, n) -> str:
    return f"{m:.4f} ± {s:.4f}" if n > 1 else f"{m:.4f}"


def _delta(d) -> str:
    return "" if d == "" else f"{d:+.4f}"


def to_markdown(rows: list[dict]) -> str:
    out = ["# Run comparison", ""]
    for g in sorted({r["group"] for r in rows}):
        rs = [r for r in rows if r["group"] == g]
        r0 = rs[0]
        out += [f"## Group {g}: data {Path(r0['data']).name}, imgsz {r0['imgsz']}, {r0['epochs']} epochs", "",
                f"data: `{r0['data']}`; latency: batch 1, median, on {r0['device']}", "",
                "| config | module | seeds | mAP50 | mAP50-95 | Δ mAP50 | Δ mAP50-95 | params | GFLOPs | latency ms | note |",
                "|---|---|---|---|---|---|---|---|---|---|---|"]
        for r in rs:
            out.append(
                f"| {r['config']} | {r['module']} | {r['seeds']} | {_pm(r['mAP50_mean'], r['mAP50_std'], r['n_runs'])} | "
                f"{_pm(r['mAP50-95_mean'], r['mAP50-95_std'], r['n_runs'])} | {_delta(r['delta_mAP50'])} | "
                f"{_delta(r['delta_mAP50-95'])} | {r['params']:,} | {r['GFLOPs']:.2f} | {r['latency_ms']:.1f} | {r['delta_note']} |"
            )
        out.append("")
    return "\n".join(out)


def _plot(rows: list[dict], file: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    groups = sorted({r["group"] for r in rows})
    fig, axes = plt.subplots(1, len(groups), figsize=(max(4, 1.2 * max(len([r for r in rows if r["group"] == g]) for g in groups)) * len(groups), 4), squeeze=False)
    for ax, g in zip(axes[0], groups):
        rs = [r for r in rows if r["group"] == g]
        x = range(len(rs))
        ax.bar(x, [r["mAP50-95_mean"] for r in rs], yerr=[r["mAP50-95_std"] for r in rs], capsize=4,
               color=["grey" if r["module"] == "none" else "tab:blue" for r in rs])
        ax.set_xticks(list(x), [r["config"] for r in rs], rotation=30, ha="right")
        ax.set_ylabel("mAP50-95 (mean ± std over seeds)")
        ax.set_title(f"{Path(rs[0]['data']).stem}, imgsz {rs[0]['imgsz']}, {rs[0]['epochs']} ep", fontsize=9)
    fig.tight_layout()
    fig.savefig(file, dpi=120)
    plt.close(fig)


def compare(runs_dir="runs", out_dir=None, device: str = "cpu", latency_runs: int = 20) -> dict:
    """Find, summarise and write the comparison; return ``{"rows", "markdown", "files"}``."""
    runs = find_runs(runs_dir)
    if not runs:
        raise UsageError(f"{Path(runs_dir).resolve()}: no finished training runs (args.yaml + results.csv + weights/best.pt)")
    rows = summarise(runs, device, latency_runs)
    out_dir = Path(out_dir or runs_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    md = to_markdown(rows)
    files = {"md": out_dir / "comparison.md", "csv": out_dir / "comparison.csv", "png": out_dir / "comparison.png"}
    files["md"].write_text(md + "\n")
    with open(files["csv"], "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=_CSV_FIELDS)
        w.writeheader()
        w.writerows(rows)
    _plot(rows, files["png"])
    return {"rows": rows, "markdown": md, "files": files}

"""Compare training runs (``compare_attn.py`` and the ablation grid are thin layers on this).

Finds ultralytics run folders (``args.yaml`` + ``results.csv`` + ``weights/best.pt``) under a directory and groups
them by (data, imgsz, epochs, initialisation): scratch runs and runs fine-tuned from a checkpoint (ultralytics'
``pretrained`` in ``args.yaml``) are never averaged together. Inside a group each config's baseline is the run whose
model equals the config's model with its attention layers removed (``yolo_attn.graph.base.config_key``), so
yolov5, yolov8, yolo11 and generated placement configs (``yolov5n-se-neck``) all get their Δ. Seeds are averaged per
config; Δ is reported as mean ± a 95 % Welch interval (``yolo_attn.analysis.stats``). mAP figures are the best
epoch's (the epoch ultralytics saved as ``best.pt``: highest mAP50-95). Params and GFLOPs come from ultralytics'
``get_num_params`` / ``get_flops`` at the group's imgsz (``GFLOPs @N`` in the table); latency is measured
interleaved with a control row (``yolo_attn.analysis.latency``). Per-class AP50 / AP50-95, mean over seeds, where
the runs recorded it (``per_class.json``, ``yolo_attn.analysis.per_class``). Writes ``comparison.md``,
``comparison.csv`` and ``comparison.png``.
"""

from __future__ import annotations

import csv
import os
import statistics
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from yolo_attn.analysis.per_class import per_class_csv_fields, per_class_fields, per_class_markdown
from yolo_attn.analysis.runs import best_epoch
from yolo_attn.analysis.tradeoff import plot_tradeoff
from yolo_attn.errors import UsageError

__all__ = ("Run", "find_runs", "summarise", "compare", "to_markdown", "write_csv")

_CSV_FIELDS = (
    "group", "data", "imgsz", "epochs", "init", "head", "protocol", "config", "module", "scale", "baseline", "seeds", "n_runs",
    "mAP50_mean", "mAP50_std", "mAP50-95_mean", "mAP50-95_std", "delta_mAP50", "delta_mAP50-95",
    "delta_mAP50-95_ci_lo", "delta_mAP50-95_ci_hi", "delta_note", "detectable_delta_mAP50-95", "seeds_needed", "params", "GFLOPs", "GFLOPs_imgsz", "latency_ms",
    "latency_p10_ms", "latency_p90_ms", "latency_note", "device", "runs",
)


@dataclass
class Run:
    """One training run: where it is, what it trained, its best-epoch figures."""

    path: Path
    config: str  # model yaml stem, e.g. yolov5n-simam or yolov5n-se-neck
    module: str  # attention modules in the model by registered name, '+'-joined ("SimAM", "CBAM+SE"); "none" if plain
    scale: str
    data: str  # dataset yaml path as the run recorded it
    imgsz: int
    epochs: int
    seed: int
    map50: float
    map50_95: float
    init: str = "scratch"  # or "fine-tuned from <weights>"
    base_key: tuple = ()  # the model with its attention layers removed
    head: str = "v5u"  # "anchor": YOLOv5's anchor-based head (v6/v7); never grouped with the anchor-free one
    protocol: str = "ultralytics"  # the validation protocol (yolo_attn.engine.validators); never grouped with another
    extra: dict = field(default_factory=dict)


def _model_yaml(weights: Path) -> dict:
    """The model dict stored in a checkpoint (what was built, whatever the yaml file now says)."""
    from ultralytics.nn.tasks import torch_safe_load

    ckpt, _ = torch_safe_load(str(weights))
    model = ckpt.get("ema") or ckpt.get("model")
    return dict(getattr(model, "yaml", {}) or {})


def find_runs(root) -> list[Run]:
    """Every finished-enough run under ``root`` (any depth); runs without a validated epoch are skipped."""
    import re

    from yolo_attn.graph.records import init_label, started_as
    from yolo_attn.graph.anchors import is_anchor_yaml
    from yolo_attn.graph.base import attention_layers, config_key
    from yolo_attn.registry import registered_name
    from yolo_attn.protocols import run_protocol
    from yolo_attn.eval.per_class import read_per_class

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
        protocol = run_protocol(d)
        best, _ = best_epoch(d / "results.csv", protocol)
        if best is None:
            continue
        model = _model_yaml(d / "weights" / "best.pt")
        args = started_as(args, model)  # a resumed run is what it was started as, not "fine-tuned from its last.pt"
        attn = attention_layers(model)
        stem = Path(str(args.get("model", ""))).stem
        m = re.search(r"yolo(?:v\d+|\d+)([nslmx])", stem)
        runs.append(Run(
            path=d, config=stem, module="+".join(dict.fromkeys(registered_name(a) or a for a in attn)) or "none",
            scale=model.get("scale") or (m.group(1) if m else "?"), data=str(args.get("data")),
            imgsz=int(args.get("imgsz")), epochs=int(args.get("epochs")), seed=int(args.get("seed", 0)),
            map50=float(best["metrics/mAP50(B)"]), map50_95=float(best["metrics/mAP50-95(B)"]), init=init_label(args),
            base_key=config_key(model), head="anchor" if is_anchor_yaml(model) else "v5u", protocol=protocol,
            extra={"per_class": read_per_class(d)},  # None: trained before per_class.json was recorded
        ))
    return runs


def _mean_std(xs: list[float]) -> tuple[float, float]:
    return statistics.fmean(xs), (statistics.stdev(xs) if len(xs) > 1 else 0.0)


def _device_name(device: str, measured: bool = True) -> str:
    """The latency device, with the load average when latency was measured (``measured``), else saying it was not."""
    import torch
    from ultralytics.utils.torch_utils import get_cpu_info

    if not measured:
        return "no device (latency not measured: --latency-runs 0)"
    name = torch.cuda.get_device_name(int(device)) if device != "cpu" else f"CPU {get_cpu_info()}, {torch.get_num_threads()} threads"
    return f"{name} (1-min load average {os.getloadavg()[0]:.1f} while measuring)"  # a busy machine inflates latency


def _baselines(by_config: dict[str, list[Run]]) -> dict[str, str | None]:
    """config -> the config in the same group whose model is this config's model without attention (or None)."""
    plain = {}
    for c, rs in sorted(by_config.items(), key=lambda kv: -len(kv[1])):  # most seeds wins a tie
        if rs[0].module == "none":
            plain.setdefault(rs[0].base_key, c)
    return {c: plain.get(rs[0].base_key) for c, rs in by_config.items()}


def summarise(runs: list[Run], device: str = "cpu", latency_runs: int = 20, latency_cache=None,
              retime: bool = False) -> list[dict]:
    """One row per (group, config), a control row for the latency, Δ vs each config's own baseline.

    ``latency_cache``: a ``latency.json`` whose timings are reused when they were measured for the same checkpoints,
    device and rounds (``yolo_attn.analysis.latency_cache``), unless ``retime``."""
    groups: dict[tuple, dict[str, list[Run]]] = {}
    for r in runs:
        groups.setdefault((r.data, r.imgsz, r.epochs, r.init, r.head, r.protocol), {}).setdefault(r.config, []).append(r)
    rows, cands = [], {}
    for gi, (key, by_config) in enumerate(sorted(groups.items()), 1):
        base_of = _baselines(by_config)
        order = sorted(by_config, key=lambda c: (base_of[c] or c, by_config[c][0].module != "none", c))
        for config in order:
            rs = sorted(by_config[config], key=lambda r: r.seed)
            base = by_config[base_of[config]] if base_of[config] else None
            rows.append(_config_row(gi, key, config, rs, base_of[config], base))
            cands[(gi, config)] = (max(rs, key=lambda r: r.map50_95).path / "weights" / "best.pt", key[1])
    return _with_latency(rows, cands, device, latency_runs, latency_cache, retime)


def _config_row(gi: int, key: tuple, config: str, rs: list[Run], base_name: str | None, base: list[Run] | None) -> dict:
    """A config's row: mean ± std over its seeds and, against its baseline's runs ``base``, the Δ and its interval."""
    from yolo_attn.analysis.stats import delta_ci, power, power_note

    data, imgsz, epochs, init, head, protocol = key
    m50, s50 = _mean_std([r.map50 for r in rs])
    m95, s95 = _mean_std([r.map50_95 for r in rs])
    row = {
        "group": gi, "data": data, "imgsz": imgsz, "epochs": epochs, "init": init, "head": head, "protocol": protocol,
        "config": config,
        "module": rs[0].module, "scale": rs[0].scale, "n_runs": len(rs),
        "baseline": (base_name or "") if rs[0].module != "none" else "",
        "seeds": " ".join(str(r.seed) for r in rs), "mAP50_mean": round(m50, 4), "mAP50_std": round(s50, 4),
        "mAP50-95_mean": round(m95, 4), "mAP50-95_std": round(s95, 4), "delta_mAP50": "",
        "delta_mAP50-95": "", "delta_mAP50-95_ci_lo": "", "delta_mAP50-95_ci_hi": "", "delta_note": "",
        "detectable_delta_mAP50-95": "", "seeds_needed": "",
        "runs": " ".join(str(r.path) for r in rs),
        **per_class_fields([r.extra.get("per_class") for r in rs]),
    }
    if rs[0].module == "none":
        row["delta_note"] = "baseline"
    elif base:
        row["delta_mAP50"] = round(m50 - statistics.fmean(r.map50 for r in base), 4)
        ci = delta_ci([r.map50_95 for r in rs], [r.map50_95 for r in base])
        row["delta_mAP50-95"], row["delta_note"] = round(ci["delta"], 4), ci["note"]
        if ci["lo"] is not None:
            row["delta_mAP50-95_ci_lo"], row["delta_mAP50-95_ci_hi"] = round(ci["lo"], 4), round(ci["hi"], 4)
            pw = power([r.map50_95 for r in rs], [r.map50_95 for r in base])  # statsmodels' TTestIndPower
            row["delta_note"] += "; " + power_note(pw, significant=not ci["lo"] <= 0 <= ci["hi"])
            if pw["detectable"] is not None:
                row["detectable_delta_mAP50-95"] = round(pw["detectable"], 4)
                row["seeds_needed"] = pw["seeds_needed"] if pw["seeds_needed"] != float("inf") else "inf"
    else:
        row["delta_note"] = (f"no run of this model without its attention layers on this data/imgsz/epochs/"
                             f"initialisation ({init}) to compare with")
    return row


def _with_latency(rows: list[dict], cands: dict, device: str, latency_runs: int, latency_cache=None,
                  retime: bool = False) -> list[dict]:
    """Params, GFLOPs and interleaved latency of each row's best checkpoint, plus the control row after its twin."""
    from yolo_attn.analysis.latency_cache import cached_latencies

    # the control: the first baseline timed a second time (or the first model when there is no baseline)
    control = next(((r["group"], r["config"]) for r in rows if r["module"] == "none"), (rows[0]["group"], rows[0]["config"]))
    lat = cached_latencies(cands, device, latency_runs, control, latency_cache, retime)
    res = lat["resolution"]
    device_name = _device_name(device, measured=res is not None)
    if lat["reused"] and res is not None:  # the load average above is today's, the timings are not
        device_name = device_name.split(" (1-min load")[0] + f" (timings reused from {lat['reused']}; --retime to measure again)"
    for row in rows:
        row.update(_latency_fields(lat[(row["group"], row["config"])]), device=device_name, GFLOPs_imgsz=row["imgsz"])
        base = lat.get((row["group"], row["baseline"])) if row["baseline"] else None
        if res is not None and base and row["module"] != "none":
            rel = row["latency_ms"] / base["latency_ms"] - 1
            row["latency_note"] = (f"{rel:+.0%} vs baseline" + (" (within timing noise)" if abs(rel) <= res else ""))
    if res is None:
        return rows  # --latency-runs 0: no timing, no control row
    ci = next(i for i, r in enumerate(rows) if (r["group"], r["config"]) == control)
    ctrl = {k: rows[ci][k] for k in ("group", "data", "imgsz", "epochs", "init", "head", "protocol", "scale", "device",
                                     "GFLOPs_imgsz")}
    ctrl.update(_latency_fields(lat["control"]), config=f"{control[1]} (control)", module="control",
                baseline=control[1], n_runs=0, seeds="",
                latency_note=f"the same checkpoint timed again: this run resolves latency differences above ±{res:.0%}")
    rows.insert(ci + 1, ctrl)
    return rows


def _latency_fields(lat: dict) -> dict:
    r2 = lambda v: "" if v is None else round(v, 2)  # noqa: E731
    return {"params": lat["params"], "GFLOPs": lat["GFLOPs"], "latency_ms": r2(lat["latency_ms"]),
            "latency_p10_ms": r2(lat["p10_ms"]), "latency_p90_ms": r2(lat["p90_ms"])}


def _pm(m, s, n) -> str:
    return f"{m:.4f} ± {s:.4f}" if n > 1 else f"{m:.4f}"


_HEAD_LABEL = {"v5u": "anchor-free head (YOLOv5u/v8 Detect)", "anchor": "anchor-based head (YOLOv5 v6/v7)"}


def _delta(row, key="delta_mAP50-95") -> str:
    d = row.get(key, "")
    if d == "":
        return ""
    if key == "delta_mAP50-95" and row.get("delta_mAP50-95_ci_lo", "") != "":
        return f"{d:+.4f} [{row['delta_mAP50-95_ci_lo']:+.4f}, {row['delta_mAP50-95_ci_hi']:+.4f}]"
    return f"{d:+.4f}"


def to_markdown(rows: list[dict]) -> str:
    out = ["# Run comparison", "",
           "mAP: best epoch, mean ± std over seeds. Δ mAP50-95: mean difference to the config's baseline (the same "
           "model without its attention layers, same data/imgsz/epochs/initialisation) with its 95 % Welch "
           "confidence interval; power: the smallest Δ these seeds detect at 80 % power, α 0.05 (statsmodels' "
           "TTestIndPower, pooled std), and the seeds a side the observed Δ would need. GFLOPs: ultralytics' count "
           "at the group's training image size (GFLOPs @N: an N x N image; 640 px gives about (640/N)² times as "
           "many). Latency: batch 1, median over interleaved rounds after warm-up; the control row times the baseline's checkpoint again.", ""]
    for g in sorted({r["group"] for r in rows}):
        rs = [r for r in rows if r["group"] == g]
        r0 = rs[0]
        out += [f"## Group {g}: data {Path(r0['data']).name}, imgsz {r0['imgsz']}, {r0['epochs']} epochs, {r0['init']}, "
                f"{_HEAD_LABEL.get(r0.get('head'), r0.get('head'))}, validated with {r0.get('protocol')}'s protocol",
                "", f"data: `{r0['data']}`; " + (f"latency on {r0['device']}" if "latency not measured" not in r0["device"]
                                               else "latency not measured (--latency-runs 0)"), "",
                "| config | module | baseline | seeds | mAP50 | mAP50-95 | Δ mAP50 | Δ mAP50-95 [95 % CI] | params | "
                f"GFLOPs @{r0['imgsz']} | latency ms (p10-p90) | note |",
                "|---|---|---|---|---|---|---|---|---|---|---|---|"]
        for r in rs:
            lat = "" if r["latency_ms"] == "" else f"{r['latency_ms']:.1f} ({r['latency_p10_ms']:.1f}-{r['latency_p90_ms']:.1f})"
            note = "; ".join(x for x in (r.get("delta_note", ""), r.get("latency_note", "")) if x)
            if r["module"] == "control":
                out.append(f"| {r['config']} | control | {r['baseline']} | | | | | | {r['params']:,} | "
                           f"{r['GFLOPs']:.2f} | {lat} | {note} |")
                continue
            out.append(
                f"| {r['config']} | {r['module']} | {r['baseline']} | {r['seeds']} | "
                f"{_pm(r['mAP50_mean'], r['mAP50_std'], r['n_runs'])} | {_pm(r['mAP50-95_mean'], r['mAP50-95_std'], r['n_runs'])} | "
                f"{_delta(r, 'delta_mAP50')} | {_delta(r)} | {r['params']:,} | {r['GFLOPs']:.2f} | {lat} | {note} |"
            )
        out.append("")
        out += per_class_markdown(rs)
    return "\n".join(out)


def write_csv(rows: list[dict], file: Path) -> None:
    with open(file, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=_CSV_FIELDS + tuple(per_class_csv_fields(rows)), extrasaction="ignore")
        w.writeheader()
        w.writerows(rows)


def _plot(rows: list[dict], file: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = [r for r in rows if r["module"] != "control"]
    groups = sorted({r["group"] for r in rows})
    width = max(4, 1.2 * max(len([r for r in rows if r["group"] == g]) for g in groups))
    fig, axes = plt.subplots(1, len(groups), figsize=(width * len(groups), 4), squeeze=False)
    for ax, g in zip(axes[0], groups):
        rs = [r for r in rows if r["group"] == g]
        x = range(len(rs))
        ax.bar(x, [r["mAP50-95_mean"] for r in rs], yerr=[r["mAP50-95_std"] for r in rs], capsize=4,
               color=["grey" if r["module"] == "none" else "tab:blue" for r in rs])
        ax.set_xticks(list(x), [r["config"] for r in rs], rotation=30, ha="right")
        ax.set_ylabel("mAP50-95 (mean ± std over seeds)")
        ax.set_title(f"{Path(rs[0]['data']).stem}, imgsz {rs[0]['imgsz']}, {rs[0]['epochs']} ep, {rs[0]['init']}"[:80],
                     fontsize=9)
    fig.tight_layout()
    fig.savefig(file, dpi=120)
    plt.close(fig)


def compare(runs_dir="runs", out_dir=None, device: str = "cpu", latency_runs: int = 20, retime: bool = False) -> dict:
    """Find, summarise and write the comparison; return ``{"rows", "markdown", "files"}``.

    Latency figures recorded in ``OUT/latency.json`` for the same checkpoints, device and rounds are reused unless
    ``retime``."""
    runs = find_runs(runs_dir)
    if not runs:
        raise UsageError(f"{Path(runs_dir).resolve()}: no finished training runs (args.yaml + results.csv + weights/best.pt)")
    out_dir = Path(out_dir or runs_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    rows = summarise(runs, device, latency_runs, latency_cache=out_dir / "latency.json", retime=retime)
    md = to_markdown(rows)
    files = {"md": out_dir / "comparison.md", "csv": out_dir / "comparison.csv", "png": out_dir / "comparison.png",
             "tradeoff": out_dir / "tradeoff.png"}
    files["md"].write_text(md + "\n")
    write_csv(rows, files["csv"])
    _plot(rows, files["png"])
    plot_tradeoff(rows, files["tradeoff"])  # mAP50-95 vs latency and vs params, CI bars, baseline marked
    return {"rows": rows, "markdown": md, "files": files}

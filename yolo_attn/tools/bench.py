"""Benchmark: attention modules alone, whole yolov5s models and a yolov5n training step, as ratios.

    python -m yolo_attn.tools.bench                 # full run, writes docs/BENCHMARKS.md and docs/benchmarks.csv
    python -m yolo_attn.tools.bench --quick --out /tmp/b   # tiny sizes, a few seconds: checks the harness runs

Every timing is interleaved (A B C A B C ..., one call each per round) and the median of ``--repeats`` rounds is
taken, so a load change on a shared machine hits all candidates alike; only ratios inside one round-robin are
reported. Sections:

a. each module alone, fp32, on ``x`` of 8x256x80x80 and 8x1024x20x20: forward (eval, no grad) and forward+backward
   (train mode, ``y.backward(g)``), relative to the memory floor ``x * 1.0`` timed the same way (forward: one read
   and one write of x; forward+backward: that plus its backward), and relative to the seed code
   (``yolo_attn.reference.seed``); eager and ``torch.compile`` (``yolo_attn.compile_attention``).
b. yolov5s at 640, batch 1, eval (Conv+BN fused as in ultralytics' predictor): latency per attention config vs plain
   yolov5s, with params and GFLOPs from ultralytics' own counters.
c. one training step of yolov5n at 320, batch 8 (forward, ultralytics' loss, backward, SGD step): time and peak
   memory vs plain. Peak memory is torch's allocator peak (CUDA: ``max_memory_allocated``; CPU: the running sum of
   the profiler's allocation events during one step).

Sections b and c also time ``plain-copy``, a second instance of the plain model: identical work, so its distance
from 1.000 is what the run can resolve (on CPU two instances differ by up to ~7 %, from memory placement alone).
"""

from __future__ import annotations

import argparse
import csv
import datetime
import os
import platform
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("YOLO_OFFLINE", "1")  # nothing here may download

import torch  # noqa: E402

import yolo_attn  # noqa: E402
from yolo_attn.reference import seed as bench_reference  # noqa: E402
from yolo_attn.analysis.timer import round_robin  # noqa: E402

__all__ = ("TARGETS", "MODULES", "time_interleaved", "bench_modules", "bench_models", "bench_train_step", "main")

MODULES = ("SE", "CBAM", "SimAM", "SRM", "EMA")

# Targets from issue 5: module forward at 8x256x80x80 vs x*1.0 (eager, compiled); whole-model latency overhead;
# training-step time overhead and peak-memory ratio.
TARGETS = {
    "module_fwd": {"SE": (1.3, 1.3), "SRM": (1.6, 1.4), "CBAM": (2.5, 1.6), "SimAM": (4.5, 1.6), "EMA": (6.0, 4.0)},
    "model_overhead": {"SE": 0.03, "SimAM": 0.03, "SRM": 0.03, "CBAM": 0.06, "EMA": 0.06},
    "train_overhead": 0.10,
    "train_memory": 1.10,
}
FULL_SHAPES = ((8, 256, 80, 80), (8, 1024, 20, 20))
QUICK_SHAPES = ((2, 64, 16, 16),)
NOTES_MARK = "<!-- notes: text below this line is kept when the benchmark rewrites this file -->"


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def time_interleaved(fns: dict, repeats: int, device: torch.device, warmup: int = 1) -> dict:
    """Median seconds per call of each callable, timed round-robin (one call of each per round).

    The order rotates by one each round, so no candidate always runs first (after the previous round's last one)
    and pays, or skips, the cost of a cold cache or allocator: a fixed order biased whole-model rows by up to 10 %.
    """
    for fn in fns.values():
        for _ in range(warmup):
            fn()
    _sync(device)

    def visit(fn):
        _sync(device)
        t0 = time.perf_counter()
        fn()
        _sync(device)
        return time.perf_counter() - t0

    times = round_robin({k: (lambda fn=fn: visit(fn)) for k, fn in fns.items()}, repeats)
    return {k: statistics.median(v) for k, v in times.items()}


def _load_seed_weights(seed: torch.nn.Module, ours: torch.nn.Module) -> None:
    """Same numbers in both (SRM's documented layout difference: Conv1d (C, 1, 2) -> cfc (C, 2))."""
    state = dict(ours.state_dict())
    if "cfc" in state:
        state["cfc.weight"] = state.pop("cfc").reshape(-1, 1, 2)
    seed.load_state_dict(state, strict=True)


def _module_call(m: torch.nn.Module, x: torch.Tensor, g: torch.Tensor | None):
    """forward only (g is None) or forward + backward of ``m`` on ``x`` with output gradient ``g``."""
    if g is None:
        def run():
            with torch.no_grad():
                m(x)
    else:
        params = [p for p in m.parameters()]

        def run():
            x.grad = None
            for p in params:
                p.grad = None
            m(x).backward(g)
    return run


def _check_compiled(name: str, eager: torch.nn.Module, compiled, x: torch.Tensor, train: bool) -> None:
    """Refuse to time a compiled module whose output differs from eager (fp32, 1e-4: other summation orders)."""
    state = {k: v.clone() for k, v in eager.state_dict().items()}  # BatchNorm running stats move in train mode
    with torch.set_grad_enabled(train):  # the graph the timed calls use (no extra compile)
        want, got = eager(x).detach(), compiled(x).detach()
    eager.load_state_dict(state)
    if not torch.allclose(got, want, atol=1e-4, rtol=1e-4):
        raise RuntimeError(f"compiled {name} ({'train' if train else 'eval'}) differs from eager by "
                           f"{(got - want).abs().max().item():.3g} on {tuple(x.shape)}")


class _Floor(torch.nn.Module):
    """The memory floor: one read and one write of x."""

    def forward(self, x):
        return x * 1.0


def bench_modules(shapes, names, repeats: int, device: torch.device, compiled: bool = True,
                  passes=("forward", "forward+backward"), on_row=None) -> list[dict]:
    """Section a: one row per (pass, shape, module); ``on_row(row)`` is called as each row is measured."""
    rows = []
    for mode in passes:
        for shape in shapes:
            train = mode != "forward"
            x = torch.randn(shape, device=device, requires_grad=train)
            g = torch.randn(shape, device=device) if train else None
            for name in names:
                ours = getattr(yolo_attn, name)(shape[1]).to(device).train(train)
                seed = bench_reference.SEED_OF[name](shape[1]).to(device).train(train)
                _load_seed_weights(seed, ours)
                fns = {"floor": _module_call(_Floor(), x, g), "seed": _module_call(seed, x, g),
                       "eager": _module_call(ours, x, g)}
                if compiled:
                    comp = torch.compile(ours, dynamic=False)  # as compile_attention: static graph per size
                    _check_compiled(name, ours, comp, x, train)
                    fns["compiled"] = _module_call(comp, x, g)
                t = time_interleaved(fns, repeats, device, warmup=2 if compiled else 1)
                row = {"section": "module", "name": name, "shape": "x".join(map(str, shape)), "pass": mode,
                       "floor_ms": 1e3 * t["floor"], "seed_ms": 1e3 * t["seed"], "eager_ms": 1e3 * t["eager"],
                       "seed/floor": t["seed"] / t["floor"], "eager/floor": t["eager"] / t["floor"],
                       "eager/seed": t["eager"] / t["seed"]}
                if compiled:
                    row.update(compiled_ms=1e3 * t["compiled"], **{"compiled/floor": t["compiled"] / t["floor"],
                                                                    "compiled/seed": t["compiled"] / t["seed"]})
                rows.append(row)
                print(_fmt_module_row(row), flush=True)
                if on_row:
                    on_row(row)
    return rows


def _build(cfg: str, device: torch.device, nc: int | None = None):
    from ultralytics.nn.tasks import DetectionModel

    return DetectionModel(cfg, nc=nc, verbose=False).to(device)


CONTROL = "plain-copy"


def _configs(scale: str, names) -> dict:
    """Plain, a second instance of plain (the control: its ratio is the resolution of the run), then each config."""
    plain = f"yolov5{scale}.yaml"
    return {"plain": plain, CONTROL: plain, **{n: f"yolov5{scale}-{n.lower()}.yaml" for n in names}}


def bench_models(names, repeats: int, device: torch.device, imgsz: int = 640, scale: str = "s") -> list[dict]:
    """Section b: eval latency of each attention config vs plain, batch 1, plus ultralytics' params and GFLOPs."""
    from ultralytics.utils.torch_utils import get_flops, get_num_params

    models, rows = {}, []
    for key, cfg in _configs(scale, names).items():
        m = _build(cfg, device).eval()
        params, gflops = get_num_params(m), get_flops(m, imgsz)
        models[key] = m.fuse(verbose=False)
        rows.append({"section": "model", "name": key, "cfg": cfg, "params": params, "gflops": gflops})
    x = torch.zeros(1, 3, imgsz, imgsz, device=device)

    def infer(m):
        def run():
            with torch.inference_mode():
                m(x)
        return run

    t = time_interleaved({k: infer(m) for k, m in models.items()}, repeats, device)
    base = rows[0]
    for r in rows:
        r.update(latency_ms=1e3 * t[r["name"]], **{"latency/plain": t[r["name"]] / t["plain"],
                                                    "params/plain": r["params"] / base["params"],
                                                    "gflops/plain": r["gflops"] / base["gflops"] if base["gflops"] else float("nan")})
        print(f"model {r['name']:10s} {r['latency_ms']:8.1f} ms  x{r['latency/plain']:.3f}  "
              f"params {r['params']}  GFLOPs {r['gflops']:.2f}", flush=True)
    return rows


def _synthetic_batch(batch: int, imgsz: int, device: torch.device) -> dict:
    """A fixed detection batch in ultralytics' trainer layout: 3 boxes per image, normalised xywh."""
    gen = torch.Generator().manual_seed(0)
    n = 3 * batch
    xy = torch.rand(n, 2, generator=gen) * 0.6 + 0.2
    wh = torch.rand(n, 2, generator=gen) * 0.2 + 0.05
    return {
        "img": torch.rand(batch, 3, imgsz, imgsz, generator=gen).to(device),
        "batch_idx": torch.arange(batch).repeat_interleave(3).float().to(device),
        "cls": torch.randint(0, 80, (n, 1), generator=gen).float().to(device),
        "bboxes": torch.cat((xy, wh), 1).to(device),
    }


def _peak_step_memory(step, device: torch.device) -> int:
    """Peak bytes held by torch's allocator during one call of ``step``, above what was held before it."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)
        base = torch.cuda.memory_allocated(device)
        torch.cuda.reset_peak_memory_stats(device)
        step()
        torch.cuda.synchronize(device)
        return torch.cuda.max_memory_allocated(device) - base
    from torch.profiler import ProfilerActivity, profile

    with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
        step()
    events = [e for e in prof.profiler.kineto_results.events() if e.name() == "[memory]" and e.device_type().name == "CPU"]
    held = peak = 0
    for e in sorted(events, key=lambda e: e.start_ns()):
        held += e.nbytes()
        peak = max(peak, held)
    return peak


def bench_train_step(names, repeats: int, device: torch.device, imgsz: int = 320, batch: int = 8,
                     scale: str = "n") -> list[dict]:
    """Section c: one forward+loss+backward+SGD step per config, interleaved; peak memory of one step each."""
    from ultralytics.cfg import get_cfg

    hyp = get_cfg()  # the default box/cls/dfl loss gains, as the trainer sets model.args
    data = _synthetic_batch(batch, imgsz, device)
    steps, rows = {}, []
    for key, cfg in _configs(scale, names).items():
        torch.manual_seed(0)
        m = _build(cfg, device, nc=80).train()
        m.args = hyp
        opt = torch.optim.SGD(m.parameters(), lr=0.01, momentum=0.937, nesterov=True)

        def step(m=m, opt=opt):
            opt.zero_grad(set_to_none=True)
            loss, _ = m.loss(data)
            loss.sum().backward()
            opt.step()

        step()  # momentum buffers exist from here on, as in every step of a real run
        steps[key] = step
        rows.append({"section": "train", "name": key, "cfg": cfg, "peak_mem_mb": _peak_step_memory(step, device) / 2**20})
    t = time_interleaved(steps, repeats, device, warmup=0)
    base = rows[0]
    for r in rows:
        r.update(step_ms=1e3 * t[r["name"]], **{"step/plain": t[r["name"]] / t["plain"],
                                                 "mem/plain": r["peak_mem_mb"] / base["peak_mem_mb"]})
        print(f"train {r['name']:10s} {r['step_ms']:8.1f} ms  x{r['step/plain']:.3f}  "
              f"peak {r['peak_mem_mb']:.0f} MiB x{r['mem/plain']:.3f}", flush=True)
    return rows


def _fmt_module_row(r: dict) -> str:
    s = (f"{r['name']:6s} {r['shape']:15s} {r['pass']:17s} floor {r['floor_ms']:7.2f} ms  seed x{r['seed/floor']:.2f}"
         f"  eager x{r['eager/floor']:.2f} ({r['eager/seed']:.2f} of seed)")
    if "compiled/floor" in r:
        s += f"  compiled x{r['compiled/floor']:.2f} ({r['compiled/seed']:.2f} of seed)"
    return s


def check_targets(rows: list[dict], target_shape: str = "8x256x80x80") -> list[str]:
    """One line per target of issue 5 that the measured rows miss (empty: all met). Rows at other sizes are ignored."""
    missed = []
    for r in rows:
        if r["section"] == "module":
            if r["eager/seed"] > 1.0:
                missed.append(f"{r['name']} {r['shape']} {r['pass']}: eager {r['eager/seed']:.2f}x the seed's time (target <= 1)")
            if r.get("compiled/seed", 0) > 1.0:
                missed.append(f"{r['name']} {r['shape']} {r['pass']}: compiled {r['compiled/seed']:.2f}x the seed's time (target <= 1)")
            if r["shape"] == target_shape and r["pass"] == "forward":
                eager_t, comp_t = TARGETS["module_fwd"][r["name"]]
                if r["eager/floor"] > eager_t:
                    missed.append(f"{r['name']} forward eager x{r['eager/floor']:.2f} of x*1.0 (target <= {eager_t})")
                if r.get("compiled/floor", 0) > comp_t:
                    missed.append(f"{r['name']} forward compiled x{r['compiled/floor']:.2f} of x*1.0 (target <= {comp_t})")
        elif r["section"] == "model" and r["name"] not in ("plain", CONTROL):
            lim = TARGETS["model_overhead"][r["name"]]
            if r["latency/plain"] - 1 > lim:
                missed.append(f"yolov5s-{r['name'].lower()} latency +{100 * (r['latency/plain'] - 1):.1f}% (target <= {100 * lim:.0f}%)")
        elif r["section"] == "train" and r["name"] not in ("plain", CONTROL):
            if r["step/plain"] - 1 > TARGETS["train_overhead"]:
                missed.append(f"yolov5n-{r['name'].lower()} train step +{100 * (r['step/plain'] - 1):.1f}% (target <= 10%)")
            if r["mem/plain"] > TARGETS["train_memory"]:
                missed.append(f"yolov5n-{r['name'].lower()} peak memory x{r['mem/plain']:.3f} (target <= 1.1)")
    return missed


def machine_info(device: torch.device) -> dict:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    info = {"cpu": cpu, "cores": os.cpu_count(), "torch threads": torch.get_num_threads(),
            "torch": torch.__version__, "python": platform.python_version(), "platform": platform.platform()}
    try:
        import ultralytics

        info["ultralytics"] = ultralytics.__version__
    except ImportError:
        pass
    if device.type == "cuda":
        info["gpu"] = torch.cuda.get_device_name(device)
    return info


def _load() -> str:
    return ", ".join(f"{v:.2f}" for v in os.getloadavg())


CONTROL_NOTE = ("The control row is a second instance of the plain model, timed in the same rounds: the same work, so "
                "its distance from 1.000 is the smallest difference this run can resolve.")


def _label(r: dict) -> str:
    return f"{r['cfg']} (control: 2nd instance)" if r["name"] == CONTROL else r["cfg"]


def _md_table(header: list[str], rows: list[list]) -> str:
    fmt = lambda v: f"{v:.2f}" if isinstance(v, float) else str(v)  # noqa: E731
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(fmt(v) for v in r) + " |" for r in rows]
    return "\n".join(lines)


def _module_section(rows: list[dict]) -> list[str]:
    """Report lines of section a (modules alone); [] when it was not measured."""
    mod = [r for r in rows if r["section"] == "module"]
    if not mod:
        return []
    comp = "compiled/floor" in mod[0]
    md = ["## a. Modules alone (fp32)", "",
          "Time relative to `x * 1.0` timed the same way in the same rounds (forward: eval, no grad; "
          "forward+backward: train mode, `y.backward(g)`), and relative to the seed code. "
          "Lower is better; `of seed` < 1 means faster than the seed.", ""]
    header = ["module", "x", "pass", "x*1.0 ms", "seed", "eager", "eager of seed"]
    header += ["compiled", "compiled of seed"] if comp else []
    tab = []
    for r in mod:
        line = [r["name"], r["shape"], r["pass"], r["floor_ms"], r["seed/floor"], r["eager/floor"], r["eager/seed"]]
        line += [r["compiled/floor"], r["compiled/seed"]] if comp else []
        tab.append(line)
    md += [_md_table(header, tab), ""]
    return md + ["Targets (forward, 8x256x80x80, vs `x * 1.0`; eager / compiled): " + ", ".join(
        f"{k} <= {e} / {c}" for k, (e, c) in TARGETS["module_fwd"].items()) + ".", ""]


def _model_section(rows: list[dict], meta: dict) -> list[str]:
    """Report lines of section b (whole model); [] when it was not measured."""
    mdl = [r for r in rows if r["section"] == "model"]
    if not mdl:
        return []
    return [f"## b. Whole model, {meta['model_desc']}", "",
            _md_table(["config", "latency ms", "latency vs plain", "params", "params vs plain", "GFLOPs", "GFLOPs vs plain"],
                      [[_label(r), r["latency_ms"], f"{r['latency/plain']:.3f}", r["params"], f"{r['params/plain']:.4f}",
                        r["gflops"], f"{r['gflops/plain']:.4f}"] for r in mdl]), "", CONTROL_NOTE, ""]


def _train_section(rows: list[dict], meta: dict) -> list[str]:
    """Report lines of section c (one training step); [] when it was not measured."""
    tr = [r for r in rows if r["section"] == "train"]
    if not tr:
        return []
    return [f"## c. One training step, {meta['train_desc']}", "",
            _md_table(["config", "step ms", "step vs plain", "peak MiB", "peak vs plain"],
                      [[_label(r), r["step_ms"], f"{r['step/plain']:.3f}", r["peak_mem_mb"], f"{r['mem/plain']:.3f}"]
                       for r in tr]), "", CONTROL_NOTE, ""]


def write_report(rows: list[dict], out: Path, meta: dict) -> tuple[Path, Path]:
    """Write ``benchmarks.csv`` (every measured number) and ``BENCHMARKS.md`` (tables, machine, command, date)."""
    out.mkdir(parents=True, exist_ok=True)
    csv_path, md_path = out / "benchmarks.csv", out / "BENCHMARKS.md"
    keys = []
    for r in rows:
        keys += [k for k in r if k not in keys]
    with open(csv_path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=keys)
        w.writeheader()
        for r in rows:
            w.writerow({k: (f"{v:.6g}" if isinstance(v, float) else v) for k, v in r.items()})

    md = ["# Benchmarks", "", f"Generated by `{meta['command']}` on {meta['date']}.", ""]
    md += [f"- {k}: {v}" for k, v in meta["machine"].items()]
    md += [f"- load average (1, 5, 15 min) before / after: {meta['load_before']} / {meta['load_after']}",
           f"- device: {meta['device']}; median of {meta['repeats']} interleaved rounds; wall time {meta['wall_s']:.0f} s", ""]
    if not meta.get("complete", True):
        md += ["**Partial report: the run was still going (or was stopped) when this was written; rows not shown "
               "were not measured.**", ""]
    md += _module_section(rows) + _model_section(rows, meta) + _train_section(rows, meta)
    missed = meta["missed"]
    md += ["## Targets", ""]
    md += ["All targets of issue 5 met in this run.", ""] if not missed else (
        ["Missed in this run:", ""] + [f"- {m}" for m in missed] + [""])
    notes = ""
    if md_path.exists():
        old = md_path.read_text()
        if NOTES_MARK in old:
            notes = old.split(NOTES_MARK, 1)[1]
    md_path.write_text("\n".join(md) + "\n" + NOTES_MARK + (notes or "\n"))
    return md_path, csv_path


def parse_args(argv=None):
    p = argparse.ArgumentParser(prog="python -m yolo_attn.tools.bench", description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="tiny sizes and 3 rounds: checks the harness, not speed")
    p.add_argument("--out", default="docs", help="folder for BENCHMARKS.md and benchmarks.csv (default: docs)")
    p.add_argument("--device", default="auto", help="cpu, cuda or auto (CUDA when present; default)")
    p.add_argument("--repeats", type=int, default=None, help="interleaved rounds per median (default 9, quick 3)")
    p.add_argument("--modules", default=",".join(MODULES), help=f"comma-separated subset of {','.join(MODULES)}")
    p.add_argument("--sections", default="modules,model,train", help="comma-separated subset of modules,model,train")
    p.add_argument("--no-compile", action="store_true", help="skip the torch.compile rows")
    return p.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    names = [n.strip() for n in args.modules.split(",") if n.strip()]
    bad = [n for n in names if n not in MODULES]
    if bad:
        raise SystemExit(f"--modules: unknown {bad}; choose from {','.join(MODULES)}")
    sections = {s.strip() for s in args.sections.split(",") if s.strip()}
    if sections - {"modules", "model", "train"}:
        raise SystemExit(f"--sections: unknown {sorted(sections - {'modules', 'model', 'train'})}; choose from modules,model,train")
    device = torch.device("cuda" if args.device == "auto" and torch.cuda.is_available() else
                          ("cpu" if args.device == "auto" else args.device))
    repeats = args.repeats or (3 if args.quick else 9)
    if repeats < (1 if args.quick else 7):
        raise SystemExit(f"--repeats {repeats}: the report needs the median of at least 7 rounds (or --quick)")

    if args.quick:  # harness check only: one thread keeps OpenMP from spinning on a busy shared machine
        threads = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            return _run(args, names, sections, device, repeats, argv)
        finally:
            torch.set_num_threads(threads)
    return _run(args, names, sections, device, repeats, argv)


def _run(args, names, sections, device, repeats, argv) -> int:
    shapes = QUICK_SHAPES if args.quick else FULL_SHAPES
    # quick: the smallest sizes that still run every code path (stride-32 models need >= 64 px)
    model_img, model_scale, train_img, train_batch = (64, "n", 64, 2) if args.quick else (640, "s", 320, 8)
    load_before, t0, rows = _load(), time.time(), []

    def report(final: bool):
        """(Re)write the report with every row so far: a long run that is stopped early still leaves its numbers."""
        missed = check_targets(rows) if not args.quick else []
        meta = {"command": "python -m yolo_attn.tools.bench " + " ".join(sys.argv[1:] if argv is None else argv),
                "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
                "machine": machine_info(device), "device": str(device), "repeats": repeats,
                "wall_s": time.time() - t0, "load_before": load_before, "load_after": _load(), "missed": missed,
                "complete": final, "model_desc": f"yolov5{model_scale}, {model_img}x{model_img}, batch 1, eval, fused",
                "train_desc": f"yolov5n, {train_img}x{train_img}, batch {train_batch}, SGD"}
        return write_report(rows, Path(args.out), meta), missed

    # modules first: after the model and training sections the process's memory state skewed later module rows
    # (CPU: SE forward at 0.24x the floor, SRM forward+backward at 1.14x the seed; 1.04x and 0.79x measured alone)
    if "modules" in sections:
        bench_modules(shapes, names, repeats, device, compiled=not args.no_compile,
                      on_row=lambda r: (rows.append(r), report(False)))
    if "model" in sections:
        rows += bench_models(names, repeats, device, imgsz=model_img, scale=model_scale)
        report(False)
    if "train" in sections:
        rows += bench_train_step(names, repeats, device, imgsz=train_img, batch=train_batch)
        report(False)
    (md_path, csv_path), missed = report(True)
    print(f"wrote {md_path} and {csv_path}")
    for m in missed:
        print(f"target missed: {m}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Batch-1 forward latency of several checkpoints, measured so that no candidate pays for its place in the order.

The first model timed in a process used to look slow (allocator, thread pool and caches warm up on it: 1068 ms
against ~25 ms later). Here every model is loaded first, warmed up until its time is stable, then timed in rounds
with the order rotated each round (round r starts with candidate r), and reported as the median over rounds. One
candidate is timed twice (``control``: the baseline under a second key); the spread between the two copies of the
same model is what the run can resolve, and is reported next to the figures.
"""

from __future__ import annotations

import statistics
import time

from yolo_attn.analysis.timer import round_robin

__all__ = ("measure_latencies", "load_fused")


def load_fused(weights, device: str = "cpu"):
    """A checkpoint's model, fp32, fused, in eval mode, on ``device``."""
    from ultralytics.nn.tasks import load_checkpoint

    model, _ = load_checkpoint(str(weights), device="cpu")
    return model.float().fuse().eval().to("cpu" if device == "cpu" else f"cuda:{device}")


def _timed(model, x, cuda: bool, n: int) -> float:
    """Median wall time (ms) of ``n`` forward passes."""
    import torch

    out = []
    for _ in range(n):
        if cuda:
            torch.cuda.synchronize()
        t = time.perf_counter()
        model(x)
        if cuda:
            torch.cuda.synchronize()
        out.append((time.perf_counter() - t) * 1000)
    return statistics.median(out)


def _warm_up(model, x, cuda: bool, block: int = 5, tol: float = 0.05, max_blocks: int = 8) -> int:
    """Run blocks of passes until two successive block medians agree within ``tol``; return the blocks run.

    At most ``max_blocks``: on a busy machine times never settle, and the rotation plus the control row then carry
    the burden (the control shows how little the figures can resolve)."""
    prev = _timed(model, x, cuda, block)
    for k in range(2, max_blocks + 1):
        cur = _timed(model, x, cuda, block)
        if abs(cur - prev) <= tol * prev:
            return k
        prev = cur
    return max_blocks


def measure_latencies(candidates: dict, device: str = "cpu", rounds: int = 20, per_visit: int = 3,
                      control: str | None = None) -> dict:
    """Interleaved latency of ``candidates`` = ``{key: (weights, imgsz)}``.

    ``rounds`` 0 measures nothing but params and GFLOPs (latency fields None).
    Returns ``{key: {"params", "GFLOPs", "latency_ms", "p10_ms", "p90_ms", "warmup_passes"}}`` plus, when
    ``control`` names a key, an entry ``"control"`` for the same checkpoint timed under a second slot and
    ``"resolution"``: the 90th percentile over rounds of |control / baseline - 1| (relative), i.e. the latency
    difference this run cannot tell from noise.
    """
    import torch
    from ultralytics.utils.torch_utils import get_flops, get_num_params

    cuda = device != "cpu"
    slots, info = {}, {}
    for key, (weights, imgsz) in candidates.items():
        model = load_fused(weights, device)
        x = torch.zeros(1, 3, imgsz, imgsz, device=next(model.parameters()).device)
        slots[key] = (model, x)
        info[key] = {"params": get_num_params(model), "GFLOPs": round(get_flops(model, imgsz), 3)}
    if rounds < 1:  # no timing asked (a busy machine, a quick test): sizes only
        for k in info:
            info[k].update(latency_ms=None, p10_ms=None, p90_ms=None, warmup_passes=0)
        return {**info, "control": None, "resolution": None}
    if control is not None:
        slots["control"] = slots[control]  # the same model object: any difference is the machine's noise
        info["control"] = {**info[control], "params": get_num_params(slots["control"][0])}  # counted on the timed model
    keys = list(slots)
    with torch.inference_mode():
        for k in keys:
            info[k]["warmup_passes"] = 5 * _warm_up(*slots[k], cuda)
        per_round = round_robin({k: (lambda k=k: _timed(*slots[k], cuda, per_visit)) for k in keys}, rounds)
    for k in keys:
        ts = sorted(per_round[k])
        q = statistics.quantiles(ts, n=10, method="inclusive") if len(ts) > 1 else [ts[0]] * 9  # within the data
        info[k].update(latency_ms=round(statistics.median(ts), 3), p10_ms=round(q[0], 3), p90_ms=round(q[-1], 3))
    if control is not None:
        dev = sorted(abs(c / b - 1) for c, b in zip(per_round["control"], per_round[control]))
        info["resolution"] = statistics.quantiles(dev, n=10, method="inclusive")[-1] if len(dev) > 1 else dev[0]
    return info

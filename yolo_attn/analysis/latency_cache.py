"""Reuse recorded latencies: a rerun of a finished grid (or ``compare_attn.py`` on the same runs) times nothing again.

Timing every model of a 4-cell grid took most of a rerun that trained nothing (223 s of 266 s). ``cached_latencies``
keeps ``measure_latencies``' result in ``latency.json`` next to the comparison, keyed by what the figures depend on:
every checkpoint (path, size, modification time), its image size, the device, the rounds and the control. Any change
(a cell retrained, a new config, ``--latency-runs``, ``--device``) measures again; ``--retime`` always does.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from yolo_attn.analysis.latency import measure_latencies

__all__ = ("CACHE_NAME", "cached_latencies", "signature")

CACHE_NAME = "latency.json"


def signature(candidates: dict, device: str, rounds: int, control) -> list:
    """What the latency figures depend on, as plain JSON values."""
    out = [["device", str(device)], ["rounds", int(rounds)], ["control", list(control) if control else None]]
    for key, (weights, imgsz) in sorted(candidates.items(), key=lambda kv: str(kv[0])):
        st = Path(weights).stat()
        out.append([list(key) if isinstance(key, tuple) else key, str(Path(weights).resolve()), st.st_size,
                    st.st_mtime_ns, int(imgsz)])
    return out


def _encode(lat: dict) -> dict:
    entries = [[list(k), v] for k, v in lat.items() if isinstance(k, tuple)]
    return {"entries": entries, "control": lat.get("control"), "resolution": lat.get("resolution")}


def _decode(rec: dict) -> dict:
    lat = {tuple(k): v for k, v in rec["entries"]}
    lat.update(control=rec.get("control"), resolution=rec.get("resolution"))
    return lat


def cached_latencies(candidates: dict, device: str, rounds: int, control, cache_file=None, retime: bool = False,
                     echo=print) -> dict:
    """``measure_latencies(candidates, device, rounds, control=control)``, or the figures recorded in ``cache_file``
    for exactly the same inputs (unless ``retime``). Candidate keys must be tuples (``(group, config)``). The result
    carries ``"reused"``: the time the reused figures were measured, or None when measured now."""
    sig = signature(candidates, device, rounds, control)
    cache_file = Path(cache_file) if cache_file else None
    if cache_file is not None and not retime and cache_file.is_file():
        try:
            rec = json.loads(cache_file.read_text())
            if rec.get("signature") == sig:
                lat = _decode(rec["result"])
                echo(f"latency: reusing the timings measured {rec.get('measured', '?')} for the same checkpoints "
                     f"({cache_file.name}; --retime measures again)", flush=True)
                return {**lat, "reused": rec.get("measured", "?")}
        except (OSError, ValueError, KeyError, TypeError):  # an unreadable record: measure again
            pass
    lat = measure_latencies(candidates, device, rounds=rounds, control=control)
    if cache_file is not None:
        rec = {"signature": sig, "measured": time.strftime("%Y-%m-%d %H:%M:%S"), "result": _encode(lat)}
        tmp = cache_file.with_name(cache_file.name + ".tmp")
        tmp.write_text(json.dumps(rec) + "\n")
        tmp.replace(cache_file)  # never a half-written record
    return {**lat, "reused": None}

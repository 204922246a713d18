"""Per-class AP50 / AP50-95 as ultralytics' validator computed them (``metrics.box.ap50``, ``.ap``, ``.ap_class_index``).

VisDrone papers report every class; a run's mean mAP hides which classes an attention module helps. A training run
records the final validation of its ``best.pt`` (the epoch compare reports) in ``{run}/per_class.json``
(``AttnDetectionTrainer.final_eval``); ``val_attn.py`` writes the same dict into ``metrics.json`` under ``per_class``.
Classes without a labelled instance in the split have no AP and are left out, as ultralytics leaves them out.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

__all__ = ("PER_CLASS_FILE", "per_class_ap", "write_per_class", "read_per_class")

PER_CLASS_FILE = "per_class.json"


def per_class_ap(metrics, names: dict) -> dict[str, dict[str, float]]:
    """``{class name: {"mAP50", "mAP50-95"}}`` from a finished validation's ``metrics`` (ultralytics' ``DetMetrics``
    or ``SegmentMetrics``: its box figures), in class-index order."""
    box = metrics.box
    return {str(names[int(c)]): {"mAP50": float(box.ap50[i]), "mAP50-95": float(box.ap[i])}
            for i, c in enumerate(box.ap_class_index)}


def write_per_class(run_dir, metrics, names: dict) -> Path:
    """Write ``run_dir/per_class.json`` (written whole to a temporary name first: never half a file)."""
    file = Path(run_dir) / PER_CLASS_FILE
    tmp = file.with_suffix(".json.tmp")
    tmp.write_text(json.dumps({"per_class": per_class_ap(metrics, names), "source": "final validation of best.pt"},
                              indent=2))
    tmp.replace(file)
    return file


def read_per_class(run_dir) -> dict[str, dict[str, float]] | None:
    """The run's per-class AP, or None when it has none (trained before it was recorded) or the file is unreadable."""
    file = Path(run_dir) / PER_CLASS_FILE
    try:
        d = json.loads(file.read_text()).get("per_class")
    except (OSError, ValueError, AttributeError):
        return None
    if not isinstance(d, dict):
        return None
    out = {}
    for name, v in d.items():
        try:
            ap50, ap = float(v["mAP50"]), float(v["mAP50-95"])
        except (TypeError, KeyError, ValueError):
            return None
        if not (math.isfinite(ap50) and math.isfinite(ap)):
            return None
        out[str(name)] = {"mAP50": ap50, "mAP50-95": ap}
    return out

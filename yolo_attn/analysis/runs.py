"""What a finished run's ``results.csv`` says: its epochs and the best one (the epoch ultralytics saved as
``best.pt``: highest mAP50-95; on a tie the later epoch, as ultralytics' fitness keeps the last best)."""

from __future__ import annotations

import csv
from pathlib import Path

__all__ = ("epoch_rows", "best_epoch")

MAP = "metrics/mAP50-95(B)"
MAP50 = "metrics/mAP50(B)"


def epoch_rows(results_csv) -> list[dict]:
    """The rows of ``results.csv`` that carry a validation mAP50-95, keys and values stripped."""
    with open(results_csv, newline="") as f:
        rows = [{k.strip(): v.strip() for k, v in r.items()} for r in csv.DictReader(f)]
    return [r for r in rows if r.get(MAP)]


def best_epoch(results_csv, protocol: str = "ultralytics") -> tuple[dict | None, int]:
    """``(best row, epochs with a validation)`` of ``results.csv``; ``(None, 0)`` when it has no validated epoch.

    Best by the fitness of the run's validation ``protocol`` (``yolo_attn.engine.validators.fitness_of``): mAP50-95
    for ultralytics', ``0.1 mAP50 + 0.9 mAP50-95`` for YOLOv5's, as each trainer picked ``best.pt``."""
    from yolo_attn.protocols import fitness_of

    rows = epoch_rows(Path(results_csv))
    best = max(reversed(rows), key=lambda r: fitness_of(r.get(MAP50) or 0.0, r[MAP], protocol)) if rows else None
    return best, len(rows)

"""What a finished run's ``results.csv`` says: its epochs and the best one (the epoch ultralytics saved as
``best.pt``: highest mAP50-95; on a tie the later epoch, as ultralytics' fitness keeps the last best)."""

from __future__ import annotations

import csv
from pathlib import Path

__all__ = ("epoch_rows", "best_epoch")

MAP = "metrics/mAP50-95(B)"


def epoch_rows(results_csv) -> list[dict]:
    """The rows of ``results.csv`` that carry a validation mAP50-95, keys and values stripped."""
    with open(results_csv, newline="") as f:
        rows = [{k.strip(): v.strip() for k, v in r.items()} for r in csv.DictReader(f)]
    return [r for r in rows if r.get(MAP)]


def best_epoch(results_csv) -> tuple[dict | None, int]:
    """``(best row, epochs with a validation)`` of ``results.csv``; ``(None, 0)`` when it has no validated epoch."""
    rows = epoch_rows(Path(results_csv))
    best = max(reversed(rows), key=lambda r: float(r[MAP])) if rows else None
    return best, len(rows)

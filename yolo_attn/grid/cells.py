"""Cells of an ablation grid: names, the ``train_attn.py`` command each one is, and whether it already finished.

A cell is one ordinary run folder ``GRID/<base>-<module>-<at>-seed<k>/`` (module lowercase, placements joined by
'+', e.g. ``yolov5n-se-neck-seed0``) or ``GRID/<base>-seed<k>/`` for the plain base. Its training is exactly
``python train_attn.py <common flags> --cfg BASE [--attn M --at A] --seed K --project GRID --name CELL --exist-ok``,
run through ``yolo_attn.cli.train.run``: the grid adds no training logic of its own.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

__all__ = ("Cell", "plan_cells", "cell_state", "best_metrics", "cell_argv", "DONE", "PARTIAL", "NEW", "UNFINALISED")

DONE, PARTIAL, NEW = "finished", "interrupted", "new"
UNFINALISED = "unfinalised"  # every epoch saved, stopped before ultralytics stripped the optimizer (engine/finalise.py)


@dataclass(frozen=True)
class Cell:
    """One grid cell: base config, optional attention module and placement, seed; where it runs; its command."""

    name: str
    base: str
    module: str | None  # None: the plain base
    at: str | None  # "neck", "backbone+neck", "6+8" (the placement label, '+'-joined)
    seed: int
    run_dir: str  # absolute: GRID/name
    argv: tuple  # train_attn.py arguments that train this cell from scratch

    def as_dict(self) -> dict:
        return asdict(self)


def _stem(base: str) -> str:
    return Path(base).stem


def plan_cells(base: str, modules: list[str], ats: list[str], seeds: list[int], grid_dir, common: list[str],
               attn_args: str | None = None) -> list[Cell]:
    """Base cells first (one per seed), then module x placement x seed in that order.

    ``ats`` are placement labels; each label is one cell column (``backbone,neck`` on the command line gives two
    columns; ``backbone+neck`` one column with both placements). ``common`` are the shared train_attn.py flags.
    """
    grid_dir = Path(grid_dir).resolve()
    cells = []
    for m in [None] + list(modules):
        for at in [None] if m is None else ats:
            for k in seeds:
                name = f"{_stem(base)}-seed{k}" if m is None else f"{_stem(base)}-{m.lower()}-{at}-seed{k}"
                argv = [*common, "--cfg", base]
                if m is not None:
                    argv += ["--attn", m, "--at", at.replace("+", ",")]
                    if attn_args:
                        argv += ["--attn-args", attn_args]
                argv += ["--seed", str(k), "--project", str(grid_dir), "--name", name, "--exist-ok"]
                cells.append(Cell(name, base, m, at, int(k), str(grid_dir / name), tuple(argv)))
    return cells


def cell_state(run_dir) -> str:
    """``finished`` (ultralytics stripped last.pt's optimizer at the end), ``unfinalised`` (the final epoch saved, the
    optimizer not yet stripped: ``yolo_attn.engine.finalise``), ``interrupted`` (a resumable last.pt) or ``new``
    (nothing usable: train from the start)."""
    from ultralytics.nn.tasks import torch_safe_load

    from yolo_attn.engine.finalise import is_unfinalised

    run_dir = Path(run_dir)
    last = run_dir / "weights" / "last.pt"
    if not last.is_file():
        return NEW
    try:
        ckpt, _ = torch_safe_load(str(last))
    except Exception:  # a checkpoint cut off while being written: start the cell again
        return NEW
    if ckpt.get("optimizer") is None or ckpt.get("epoch", -1) < 0:
        return DONE if (run_dir / "results.csv").is_file() and (run_dir / "weights" / "best.pt").is_file() else NEW
    if is_unfinalised(ckpt) and (run_dir / "results.csv").is_file():
        return UNFINALISED
    return PARTIAL


def cell_argv(cell: Cell | dict) -> list[str]:
    """The arguments to run now: the cell's own command, or ``--resume last.pt`` for an interrupted cell."""
    c = cell if isinstance(cell, dict) else cell.as_dict()
    if cell_state(c["run_dir"]) == PARTIAL:
        return ["--resume", str(Path(c["run_dir"]) / "weights" / "last.pt")]
    return list(c["argv"])


def best_metrics(run_dir) -> dict:
    """Best epoch's ``mAP50``/``mAP50-95`` and the number of epochs in ``results.csv`` ({} without one)."""
    from yolo_attn.analysis.runs import best_epoch
    from yolo_attn.protocols import run_protocol

    f = Path(run_dir) / "results.csv"
    best, epochs = best_epoch(f, run_protocol(run_dir)) if f.is_file() else (None, 0)
    if best is None:
        return {}
    return {"mAP50": float(best["metrics/mAP50(B)"]), "mAP50-95": float(best["metrics/mAP50-95(B)"]), "epochs": epochs}

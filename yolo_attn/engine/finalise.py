"""Runs stopped between their final save and ultralytics' finalisation: recognise them and finalise them.

At the end of training ultralytics saves ``last.pt`` (and ``best.pt``) for the final epoch with the optimizer state,
then ``final_eval`` strips the optimizer from both files (``strip_optimizer``) and validates ``best.pt`` once more. A
run killed in between holds every epoch it planned, but its ``last.pt`` still looks resumable; ultralytics' resume then
fails ("training to N epochs is finished, nothing to resume"). ``finalise(run_dir)`` does the stripping that was
missed; the final validation is not repeated (``best.pt`` and ``results.csv`` already hold the best epoch's figures).

``python -m yolo_attn.engine.finalise RUN_DIR`` finalises one run folder.
"""

from __future__ import annotations

import sys
from pathlib import Path

__all__ = ("planned_epochs", "is_unfinalised", "finalise")


def planned_epochs(ckpt: dict) -> int | None:
    """The number of epochs the checkpoint's run was started for (``train_args['epochs']``), or None."""
    args = ckpt.get("train_args") or {}
    try:
        return int(args.get("epochs"))
    except (TypeError, ValueError):
        return None


def is_unfinalised(ckpt: dict) -> bool:
    """True when ``ckpt`` (a loaded ``last.pt``) holds its run's final epoch with the optimizer still in it."""
    epochs = planned_epochs(ckpt)
    epoch = ckpt.get("epoch", -1)
    return ckpt.get("optimizer") is not None and epoch is not None and epoch >= 0 and epochs is not None \
        and epoch + 1 >= epochs


def finalise(run_dir) -> Path:
    """Strip the optimizer from ``run_dir/weights/last.pt`` and ``best.pt`` as ultralytics' ``final_eval`` does.

    Raises ``ValueError`` when the run is not in that state (nothing is changed then). Returns the run folder.
    """
    from ultralytics.nn.tasks import torch_safe_load
    from ultralytics.utils.torch_utils import strip_optimizer

    run_dir = Path(run_dir)
    last, best = run_dir / "weights" / "last.pt", run_dir / "weights" / "best.pt"
    if not last.is_file():
        raise ValueError(f"{run_dir}: no weights/last.pt")
    ckpt, _ = torch_safe_load(str(last))
    if not is_unfinalised(ckpt):
        raise ValueError(f"{last}: not a run stopped after its final epoch was saved (nothing to finalise)")
    del ckpt
    done = strip_optimizer(last)
    if best.is_file():
        strip_optimizer(best, updates={"train_results": done.get("train_results")})
    return run_dir


def main(argv=None) -> int:
    args = sys.argv[1:] if argv is None else list(argv)
    if len(args) != 1:
        print("usage: python -m yolo_attn.engine.finalise RUN_DIR", file=sys.stderr)
        return 2
    try:
        print(f"finalised {finalise(args[0])} (optimizer stripped from weights/last.pt and best.pt)")
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())

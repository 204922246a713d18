"""Checkpoints named on the command line: ``--weights`` loaded once, a missing, corrupt or foreign file refused."""

from __future__ import annotations

from yolo_attn.errors import UsageError

__all__ = ("check_weights",)


def check_weights(weights: str, trust: bool | None = None) -> dict:
    """Load a checkpoint (``.pt``) with ``yolo_attn.load_checkpoint_safely`` and return it; a missing, corrupt,
    crafted or foreign file raises ``UsageError`` saying so. A YOLOv5 checkpoint comes back converted (anchor model).
    ``trust``: ``--trust-weights`` (runs the file's code; default ``YOLO_ATTN_TRUST_WEIGHTS``)."""
    from yolo_attn.checkpoint import load_checkpoint_safely

    label = f"--weights {weights}"
    ckpt = load_checkpoint_safely(weights, trust=trust, label=label)
    if not (ckpt.get("ema") or ckpt.get("model")):
        raise UsageError(f"{label}: a checkpoint but not an ultralytics one (no 'model' or 'ema' entry)")
    return ckpt

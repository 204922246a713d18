"""Checkpoints named on the command line: ``--weights`` loaded once, a missing, corrupt or foreign file refused."""

from __future__ import annotations

from pathlib import Path

from yolo_attn.errors import UsageError

__all__ = ("check_weights",)


def check_weights(weights: str) -> dict:
    """Load a checkpoint (``.pt``) and return it; a missing or corrupt file raises ``UsageError`` saying so."""
    from ultralytics.nn.tasks import torch_safe_load

    p = Path(weights)
    if not p.is_file():
        raise UsageError(f"--weights {weights}: no such file (nothing is downloaded; give a local .pt)")
    try:
        ckpt, _ = torch_safe_load(str(p))
    except Exception as e:  # torch raises several types for truncated or non-zip files
        raise UsageError(
            f"--weights {p}: not a readable PyTorch checkpoint, the file is corrupt or truncated "
            f"({type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''})"
        ) from None
    if not isinstance(ckpt, dict) or not (ckpt.get("ema") or ckpt.get("model")):
        raise UsageError(f"--weights {p}: a checkpoint but not an ultralytics one (no 'model' or 'ema' entry)")
    return ckpt

"""Checks of the numeric and device flags shared by train and val, and where a run folder goes.

Each check turns a mistake into an error that names the flag and the fix, before ultralytics starts. Configs and
checkpoints have modules of their own (``engine.configs``, ``engine.checkpoints``), datasets theirs in
``yolo_attn.data`` (``data.lookup``).
"""

from __future__ import annotations

from pathlib import Path

from yolo_attn.errors import UsageError

__all__ = ("check_device", "check_imgsz", "check_epochs", "check_batch", "run_dir")


def check_device(device: str | None) -> str | None:
    """Fail early, with the reason, on ``--device 0`` / ``0,1`` when CUDA or those GPUs are missing."""
    import torch

    if device is None or str(device).strip().lower() in {"", "cpu"}:
        return device
    if str(device).strip().lower() == "mps":  # ultralytics would quietly train on the CPU and record device: mps
        if not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
            raise UsageError(
                f"--device {device}: Apple's MPS backend is not available here (torch.backends.mps.is_available() is "
                f"False: it needs an Apple-silicon Mac and a torch built with MPS). Use --device cpu"
                + (" or --device 0 (CUDA)" if torch.cuda.is_available() else "")
            )
        return "mps"
    ids = [s for s in str(device).replace(" ", "").split(",") if s]
    if not all(s.isdigit() for s in ids):
        raise UsageError(f"--device {device}: use 'cpu', one GPU index such as 0, or a list such as 0,1,2,3")
    if not torch.cuda.is_available():
        raise UsageError(
            f"--device {device} asks for CUDA GPU(s), but no CUDA GPU is usable here (torch.cuda.is_available() is "
            f"False; torch {torch.__version__}, CUDA build {torch.version.cuda or 'none'}). Use --device cpu"
        )
    n = torch.cuda.device_count()
    if max(int(s) for s in ids) >= n:
        raise UsageError(f"--device {device}: this machine has {n} CUDA GPU(s), indices 0..{n - 1}")
    return ",".join(ids)


def check_imgsz(imgsz) -> int:
    """``--imgsz`` must be a positive multiple of 32, the detector's largest stride (ultralytics would silently round)."""
    if isinstance(imgsz, bool) or not isinstance(imgsz, int) or imgsz <= 0:
        raise UsageError(f"--imgsz {imgsz}: must be a positive multiple of 32, e.g. 640 (or 64-160 for quick CPU runs)")
    if imgsz % 32:
        lo = max(imgsz // 32 * 32, 32)
        raise UsageError(f"--imgsz {imgsz}: must be a multiple of 32 (the detector's largest stride); use {lo} or {lo + 32}")
    return imgsz


def check_epochs(epochs) -> int:
    """``--epochs`` must be a positive integer (ultralytics fails late, after making the run folder, on 0)."""
    if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 1:
        raise UsageError(f"--epochs {epochs}: must be 1 or more (YOLOv5's default is 100; the demo uses 15)")
    return epochs


def check_batch(batch) -> int:
    """``--batch-size`` must be a positive integer, or -1 for ultralytics' AutoBatch (CUDA only)."""
    if isinstance(batch, bool) or not isinstance(batch, int) or not (batch >= 1 or batch == -1):
        raise UsageError(f"--batch-size {batch}: must be 1 or more (total over all GPUs), or -1 for AutoBatch on a GPU")
    return batch


def run_dir(project: str, name: str) -> tuple[str, str]:
    """(absolute project, name) so ultralytics saves to ``project/name`` exactly, not under ``runs/detect/``.

    ultralytics puts a relative ``project`` under its ``runs_dir/detect``; an absolute one is used as is. The name is
    returned unchanged: ultralytics' ``get_save_dir`` increments it (``exp`` -> ``exp-2``) when ``project/name``
    exists, unless the run is given ``exist_ok``, as YOLOv5 does.
    """
    return str(Path(project).resolve()), name

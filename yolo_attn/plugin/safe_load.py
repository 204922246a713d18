"""Allow-list of yolo_attn's module classes for ultralytics' weights-only checkpoint loading.

With ``ULTRALYTICS_SAFE_LOAD=1`` (or ``torch_safe_load(..., safe_only=True)``) ultralytics loads checkpoints with
``torch.load(weights_only=True)``, which rebuilds only classes on an allow-list. ultralytics allow-lists its own and
``torch.nn`` layers; any other class makes it refuse the file ("references types outside the supported Ultralytics
checkpoint format"). ``import yolo_attn`` calls :func:`install`, which adds exactly the ``nn.Module`` classes defined in
``yolo_attn.models.*`` (e.g. ``yolo_attn.models.se.SE``, ``yolo_attn.models.cbam.ChannelAttention``) and nothing else:
plus the anchor-based YOLOv5 head and model class (``yolo_attn.anchor.head.AnchorDetect``,
``yolo_attn.anchor.model.AnchorDetectionModel``); no functions, no ultralytics or user classes.

``install`` also replaces ultralytics' ``torch_safe_load`` (``ultralytics.nn.tasks``; ``load_checkpoint``, hence
``YOLO("x.pt")``, resume and validation, looks it up at call time) and ``strip_optimizer``'s ``torch_load`` with
``yolo_attn.load_checkpoint_safely``: after ``import yolo_attn`` every checkpoint ultralytics reads is read weights-only
(or, for YOLOv5's, by the restricted reader), with or without ``ULTRALYTICS_SAFE_LOAD``.
"""

from __future__ import annotations

from pathlib import Path

import torch

__all__ = ("safe_classes", "safe_class_paths", "install", "torch_safe_load")

from yolo_attn.checkpoint.allow import safe_class_paths, safe_classes
from yolo_attn.checkpoint.loader import ULTRALYTICS_ORIGINALS as _ORIGINAL


def torch_safe_load(weight, safe_only=None):
    """ultralytics' ``torch_safe_load`` (``YOLO("x.pt")``, ``load_checkpoint``, resume) through
    ``yolo_attn.load_checkpoint_safely``: weights-only by default whatever ``safe_only`` and ``ULTRALYTICS_SAFE_LOAD``
    say; ``YOLO_ATTN_TRUST_WEIGHTS=1`` is the opt-in to the full pickle. Returns ``(ckpt, file)`` as ultralytics'."""
    from ultralytics.utils.checks import check_suffix
    from ultralytics.utils.downloads import attempt_download_asset

    from yolo_attn.checkpoint import load_checkpoint_safely

    check_suffix(file=weight, suffix=".pt")
    file = attempt_download_asset(weight)  # an official name offline: ultralytics says it cannot download
    return load_checkpoint_safely(file, label=str(weight)), file


def _torch_load(f, *args, **kwargs):
    """ultralytics' ``torch_load`` as ``strip_optimizer`` uses it on a run's ``last.pt``: a path goes through the safe
    loader; anything else (a buffer ultralytics wrote itself) keeps ultralytics' behaviour."""
    if isinstance(f, (str, Path)) and str(f).endswith(".pt"):
        from yolo_attn.checkpoint import load_checkpoint_safely

        return load_checkpoint_safely(f)
    return _ORIGINAL["torch_load"](f, *args, **kwargs)


def _patch_ultralytics() -> None:
    import ultralytics.nn as unn
    import ultralytics.nn.tasks as tasks
    import ultralytics.utils.torch_utils as torch_utils

    if tasks.torch_safe_load is not torch_safe_load:
        _ORIGINAL["torch_safe_load"] = tasks.torch_safe_load
        tasks.torch_safe_load = unn.torch_safe_load = torch_safe_load  # load_checkpoint looks it up at call time
    if torch_utils.torch_load is not _torch_load:
        _ORIGINAL["torch_load"] = torch_utils.torch_load
        torch_utils.torch_load = _torch_load


def install() -> list[type]:
    """Register :func:`safe_classes` with ``torch.serialization.add_safe_globals`` and route ultralytics' checkpoint
    loading through ``yolo_attn.load_checkpoint_safely``; returns the classes. Idempotent."""
    classes = safe_classes()
    torch.serialization.add_safe_globals(classes)
    _patch_ultralytics()
    return classes

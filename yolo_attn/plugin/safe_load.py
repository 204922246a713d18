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

import importlib
import pkgutil
from pathlib import Path

import torch
import torch.nn as nn

__all__ = ("safe_classes", "safe_class_paths", "install", "original_torch_safe_load", "torch_safe_load")

_ORIGINAL = {}  # ultralytics' own functions, before install() routed them through yolo_attn.load_checkpoint_safely


def safe_classes() -> list[type]:
    """Every ``nn.Module`` subclass defined (not merely imported) in a module of the ``yolo_attn.models`` package."""
    import yolo_attn.models as models

    found = {}
    for info in pkgutil.iter_modules(models.__path__, prefix=f"{models.__name__}."):
        module = importlib.import_module(info.name)
        for obj in vars(module).values():
            if isinstance(obj, type) and issubclass(obj, nn.Module) and obj.__module__ == module.__name__:
                found[f"{obj.__module__}.{obj.__qualname__}"] = obj
    from yolo_attn.anchor.head import AnchorDetect
    from yolo_attn.anchor.model import AnchorDetectionModel

    for obj in (AnchorDetect, AnchorDetectionModel):  # the anchor-based YOLOv5 detector's head and model class
        found[f"{obj.__module__}.{obj.__qualname__}"] = obj
    return [found[k] for k in sorted(found)]


_PATHS: set = set()


def safe_class_paths() -> set[str]:
    """``module.Qualname`` of every class of :func:`safe_classes` (computed once)."""
    if not _PATHS:
        _PATHS.update(f"{c.__module__}.{c.__qualname__}" for c in safe_classes())
    return _PATHS


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


def original_torch_safe_load():
    """ultralytics' own ``torch_safe_load`` (the full pickle under ``safe_only=False``): for the trusted opt-in only."""
    import ultralytics.nn.tasks as tasks

    return _ORIGINAL.get("torch_safe_load", tasks.torch_safe_load)


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

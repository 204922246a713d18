"""The classes yolo_attn's own checkpoints may hold: every ``nn.Module`` class of ``yolo_attn.models`` and the
anchor-based YOLOv5 head and model class. ``torch.load(weights_only=True)`` rebuilds these (``plugin/safe_load.py``
registers them), and the YOLOv5 reader (``checkpoint/yolov5.py``) accepts them as placeholders."""

from __future__ import annotations

import importlib
import pkgutil

import torch.nn as nn

__all__ = ("safe_classes", "safe_class_paths")


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

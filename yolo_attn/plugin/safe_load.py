"""Allow-list of yolo_attn's module classes for ultralytics' weights-only checkpoint loading.

With ``ULTRALYTICS_SAFE_LOAD=1`` (or ``torch_safe_load(..., safe_only=True)``) ultralytics loads checkpoints with
``torch.load(weights_only=True)``, which rebuilds only classes on an allow-list. ultralytics allow-lists its own and
``torch.nn`` layers; any other class makes it refuse the file ("references types outside the supported Ultralytics
checkpoint format"). ``import yolo_attn`` calls :func:`install`, which adds exactly the ``nn.Module`` classes defined in
``yolo_attn.models.*`` (e.g. ``yolo_attn.models.se.SE``, ``yolo_attn.models.cbam.ChannelAttention``) and nothing else:
plus the anchor-based YOLOv5 head and model class (``yolo_attn.anchor.head.AnchorDetect``,
``yolo_attn.anchor.model.AnchorDetectionModel``); no functions, no ultralytics or user classes.

Weights-only unpickling never imports a module, so in a fresh process ``import yolo_attn`` must run before
``YOLO("best.pt")`` for a safe load. Default (pickle) loading needs no import: unpickling ``yolo_attn.models.se.SE``
imports the package, which installs the yaml hook and this allow-list.
"""

from __future__ import annotations

import importlib
import pkgutil

import torch
import torch.nn as nn

__all__ = ("safe_classes", "install")


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


def install() -> list[type]:
    """Register :func:`safe_classes` with ``torch.serialization.add_safe_globals``; returns them. Idempotent."""
    classes = safe_classes()
    torch.serialization.add_safe_globals(classes)
    return classes

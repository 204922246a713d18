"""``import yolo_attn.yolov5``: the attention modules in YOLOv5's own ``parse_model`` (a clone or the packaged v7.0).

Registers every module (aliases and the fork convention included) into ``models.yolo`` (a YOLOv5 clone on
``sys.path``) or ``yolov5.models.yolo`` (``pip install yolov5``, v7.0), through :class:`YOLOv5Adapter`; then YOLOv5's
``Model("yolov5s-se.yaml")`` builds rows like ``[-1, 1, SE, []]`` or ``[-1, 1, SEAttention, [1024]]`` with inferred
channels. ``python -m yolo_attn.yolov5 train.py --cfg ...`` runs a YOLOv5 script with the plugin loaded.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys

import yolo_attn  # noqa: F401  (registers the modules; installs the ultralytics hook whose __init__ wrapper we share)
from yolo_attn.yolov5.adapter import YOLOv5Adapter

__all__ = ("install", "ADAPTERS", "YOLOv5Adapter")

ADAPTERS: list[YOLOv5Adapter] = []
_NAMES = ("models.yolo", "yolov5.models.yolo")  # a clone first: the packaged one puts its own root on sys.path


def _findable(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


def _yolo_modules() -> list:
    """The ``models.yolo`` modules to register into: those already imported, else the first importable one."""
    loaded = [sys.modules[n] for n in _NAMES if n in sys.modules]
    if loaded:
        return loaded
    for name in _NAMES:
        if _findable(name):
            return [importlib.import_module(name)]
    raise ImportError("yolo_attn.yolov5 found no YOLOv5: run inside a YOLOv5 clone (its models/yolo.py importable as "
                      "models.yolo, e.g. cd yolov5) or pip install yolov5 (v7.0, as yolov5.models.yolo)")


def install() -> list[YOLOv5Adapter]:
    """Attach to every YOLOv5 ``models.yolo`` found (idempotent); returns the adapters."""
    for module in _yolo_modules():
        if getattr(module, "_yolo_attn_adapter", None) is None:
            adapter = YOLOv5Adapter(module)
            adapter.install()
            ADAPTERS.append(adapter)
    return ADAPTERS


# `python -m yolo_attn.yolov5 train.py` imports this package before its __main__ can put the clone on sys.path;
# Python sets sys.argv[0] to "-m" while it locates the module, and the runner installs once the path is right.
if sys.argv[:1] != ["-m"]:
    install()

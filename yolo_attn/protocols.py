"""Validation protocols by name: their settings, the fitness that picks ``best.pt``, and the record a run keeps.

``ultralytics`` (the default) and ``yolov5`` (YOLOv5 v7.0 val.py's settings); ``yolo_attn.engine.validators`` applies
them to ultralytics' validator. Imports only ``errors``, so ``analysis`` and ``grid`` read run records through it.
"""

from __future__ import annotations

import json
from pathlib import Path

from yolo_attn.errors import UsageError

__all__ = (
    "PROTOCOLS", "DEFAULT_PROTOCOL", "PROTOCOL_FILE", "YOLOV5_FITNESS", "ULTRALYTICS_FITNESS", "check_protocol",
    "is_coco", "protocol_settings", "fitness_of", "protocol_record", "run_protocol",
)

PROTOCOLS = ("ultralytics", "yolov5")
DEFAULT_PROTOCOL = "ultralytics"
PROTOCOL_FILE = "protocol.json"  # in a training run folder: the protocol its validations used
YOLOV5_FITNESS = (0.1, 0.9)  # YOLOv5's utils/metrics.fitness: weights of mAP50 and mAP50-95 (P and R weigh 0)
ULTRALYTICS_FITNESS = (0.0, 1.0)  # ultralytics 8.4's Metric.fitness


def check_protocol(protocol: str | None) -> str:
    """``protocol`` (``None``: the default) if known, else ``UsageError`` naming the flag and the choices."""
    protocol = protocol or DEFAULT_PROTOCOL
    if protocol not in PROTOCOLS:
        raise UsageError(f"--protocol {protocol}: unknown validation protocol; use one of {', '.join(PROTOCOLS)}")
    return protocol


def is_coco(data) -> bool:
    """COCO 2017 detection, as YOLOv5's train.py tells it (its val list ends in ``coco/val2017.txt``)."""
    if isinstance(data, dict):
        return str(data.get("val", "")).replace("\\", "/").rstrip("/").endswith(("coco/val2017.txt", "val2017"))
    return Path(str(data or "")).name in ("coco.yaml",)


def protocol_settings(protocol: str, data=None, given: dict | None = None) -> dict:
    """The ultralytics validator arguments of ``protocol`` on ``data`` ({} for ultralytics' own).

    A ``key=value`` in ``given`` that contradicts YOLOv5's protocol is refused: the figures would carry the name of
    a protocol they did not follow.
    """
    if check_protocol(protocol) == "ultralytics":
        return {}
    # rectangular val batches padded 0.5 stride are ultralytics' own for validation already (``rect`` here would
    # make training batches rectangular too)
    fixed = {"iou": 0.65 if is_coco(data) else 0.6, "conf": 0.001, "max_det": 300}
    for k, v in (given or {}).items():
        if k in fixed and v != fixed[k]:
            raise UsageError(f"{k}={v}: --protocol yolov5 validates with YOLOv5 val.py's {k}={fixed[k]}; drop {k}=... "
                             f"or use --protocol ultralytics")
    return fixed


def fitness_of(map50: float, map50_95: float, protocol: str = DEFAULT_PROTOCOL) -> float:
    """The fitness that picks ``best.pt`` under ``protocol``."""
    w50, w95 = YOLOV5_FITNESS if protocol == "yolov5" else ULTRALYTICS_FITNESS
    return w50 * float(map50) + w95 * float(map50_95)


def protocol_record(protocol: str, settings: dict) -> dict:
    """What a metrics file says about how its figures were made."""
    w50, w95 = YOLOV5_FITNESS if protocol == "yolov5" else ULTRALYTICS_FITNESS
    return {"protocol": protocol, "settings": dict(settings), "fitness": f"{w50} mAP50 + {w95} mAP50-95"}


def run_protocol(run_dir) -> str:
    """The protocol a training run validated with: its ``PROTOCOL_FILE``, else ultralytics' (runs made before it)."""
    f = Path(run_dir) / PROTOCOL_FILE
    if not f.is_file():
        return DEFAULT_PROTOCOL
    try:
        return check_protocol(json.loads(f.read_text()).get("protocol"))
    except (ValueError, AttributeError, UsageError):
        raise UsageError(f"{f}: not a protocol record; delete it to count the run as --protocol ultralytics") from None

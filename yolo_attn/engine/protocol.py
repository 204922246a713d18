"""Validation protocols: ultralytics' own (the default) and YOLOv5's val.py (``--protocol yolov5``).

mAP depends on the validation settings as much as on the weights: ultralytics validates with NMS IoU 0.7, raises
``max_det`` to a dataset's most crowded image and keeps ``best.pt`` by mAP50-95 alone; YOLOv5's val.py uses NMS IoU
0.6 (train.py's final COCO validation 0.65), conf 0.001, ``max_det`` 300, rectangular batches padded by 0.5 stride,
and keeps ``best.pt`` by ``0.1 mAP50 + 0.9 mAP50-95``. ``--protocol yolov5`` runs ultralytics' own validator with
YOLOv5's settings (its arguments, plus ``YOLOv5Validator`` for ``max_det`` and the fitness), so figures compare with
YOLOv5's tables; every metrics file and comparison row says which protocol made it (``PROTOCOL_FILE`` in a run).
"""

from __future__ import annotations

import json
from pathlib import Path

from ultralytics.utils.metrics import DetMetrics

from yolo_attn.engine.val import AttnDetectionValidator
from yolo_attn.errors import UsageError

__all__ = (
    "PROTOCOLS", "DEFAULT_PROTOCOL", "PROTOCOL_FILE", "YOLOV5_FITNESS", "YOLOv5DetMetrics", "YOLOv5Validator",
    "check_protocol", "protocol_settings", "is_coco", "ProtocolCallback", "run_protocol", "fitness_of",
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


class YOLOv5DetMetrics(DetMetrics):
    """ultralytics' detection metrics with YOLOv5's fitness (``0.1 mAP50 + 0.9 mAP50-95``), which picks best.pt."""

    @property
    def fitness(self) -> float:
        return fitness_of(self.box.map50, self.box.map, "yolov5")


class YOLOv5Validator(AttnDetectionValidator):
    """ultralytics' detection validator under YOLOv5's protocol: its fitness, and ``max_det`` kept as given
    (ultralytics raises the default 300 to a dataset's most crowded image; YOLOv5 never does)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.metrics = YOLOv5DetMetrics()

    @staticmethod
    def _check_max_det(args, datasets) -> None:
        return None


def fitness_of(map50: float, map50_95: float, protocol: str = DEFAULT_PROTOCOL) -> float:
    """The fitness that picks ``best.pt`` under ``protocol``."""
    w50, w95 = YOLOV5_FITNESS if protocol == "yolov5" else ULTRALYTICS_FITNESS
    return w50 * float(map50) + w95 * float(map50_95)


class ProtocolCallback:
    """``on_pretrain_routine_start``: tell the trainer its validation protocol (``get_validator`` reads it) and
    record it in the run folder (``PROTOCOL_FILE``), for compare and for ``--resume``."""

    def __init__(self, protocol: str, settings: dict | None):
        self.protocol, self.settings = check_protocol(protocol), settings  # None: keep the run's record (resume)

    def __call__(self, trainer):
        trainer.validation_protocol = self.protocol
        if self.settings is None:
            return
        save_dir = Path(trainer.save_dir)
        save_dir.mkdir(parents=True, exist_ok=True)
        record = {**protocol_record(self.protocol, self.settings), "head": _head_of(trainer)}
        (save_dir / PROTOCOL_FILE).write_text(json.dumps(record, indent=2))


def _head_of(trainer) -> str:
    """``anchor`` or ``v5u``: the head of the model the trainer trains (its model, or before it is built, the yaml
    in its ``model`` argument; this callback runs in the trainer's ``__init__``)."""
    from ultralytics.nn.tasks import yaml_model_load

    from yolo_attn.plugin.anchor_rows import is_anchor_yaml

    model = getattr(trainer, "model", None)
    if model is None or isinstance(model, (str, Path)):
        model = model or getattr(trainer.args, "model", None)
    yaml = getattr(model, "yaml", None)
    if yaml is None and str(model).endswith((".yaml", ".yml")):
        yaml = yaml_model_load(str(model))
    return "anchor" if is_anchor_yaml(yaml or {}) else "v5u"


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

"""The validators: ultralytics' own minus its JSON step, and YOLOv5's protocol (``--protocol yolov5``).

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

from ultralytics.models.yolo.detect import DetectionValidator
from ultralytics.models.yolo.segment import SegmentationValidator
from ultralytics.utils import ops
from ultralytics.utils.metrics import DetMetrics

from yolo_attn.protocols import (  # noqa: F401  (re-exported: the protocol API in one place for the engine)
    DEFAULT_PROTOCOL, PROTOCOL_FILE, PROTOCOLS, YOLOV5_FITNESS, check_protocol, fitness_of, is_coco, protocol_record,
    protocol_settings, run_protocol,
)

__all__ = (
    "AttnDetectionValidator", "AttnSegmentationValidator", "VALIDATORS", "PROTOCOLS", "DEFAULT_PROTOCOL", "PROTOCOL_FILE", "YOLOV5_FITNESS", "YOLOv5DetMetrics", "YOLOv5Validator",
    "check_protocol", "protocol_settings", "is_coco", "ProtocolCallback", "run_protocol", "fitness_of",
    "protocol_record",
)


class AttnDetectionValidator(DetectionValidator):
    """ultralytics' ``DetectionValidator`` minus its own JSON evaluation step.

    For non-COCO-2017 data with ``save_json`` ultralytics evaluates with faster-coco-eval, which it pip-installs
    when missing; yolo_attn evaluates the same saved predictions with pycocotools instead (``yolo_attn.eval``).
    """

    def eval_json(self, stats):
        return stats


class AttnSegmentationValidator(SegmentationValidator):
    """ultralytics' ``SegmentationValidator`` minus its own JSON evaluation step (as ``AttnDetectionValidator``)."""

    def eval_json(self, stats):
        return stats


VALIDATORS = {"detect": AttnDetectionValidator, "segment": AttnSegmentationValidator}


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

    def _process_batch(self, preds: dict, batch: dict) -> dict:
        """Match as YOLOv5's val.py does: in the original image's pixels, predictions clipped to the image
        (its ``scale_boxes``). ultralytics matches in the letterboxed image unclipped, and a box that overhangs the
        border then has a lower IoU with its label: on the converged shapes fixture that alone moved mAP50-95 by
        0.0075 (tests/anchor/test_protocol.py)."""
        if batch["cls"].shape[0] and preds["cls"].shape[0]:
            def native(boxes):
                return ops.scale_boxes(batch["imgsz"], boxes.clone(), batch["ori_shape"], ratio_pad=batch["ratio_pad"])

            preds, batch = {**preds, "bboxes": native(preds["bboxes"])}, {**batch, "bboxes": native(batch["bboxes"])}
        return super()._process_batch(preds, batch)


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

    from yolo_attn.graph.anchors import is_anchor_yaml

    model = getattr(trainer, "model", None)
    if model is None or isinstance(model, (str, Path)):
        model = model or getattr(trainer.args, "model", None)
    yaml = getattr(model, "yaml", None)
    if yaml is None and str(model).endswith((".yaml", ".yml")):
        yaml = yaml_model_load(str(model))
    return "anchor" if is_anchor_yaml(yaml or {}) else "v5u"



"""``AnchorDetectionModel``: ultralytics' ``DetectionModel`` with YOLOv5's anchor head and loss.

Its ``__init__`` is ``DetectionModel``'s: the stride probe reads the head's train output (``LevelMaps``) and
``bias_init`` turns the anchors into grid units and sets YOLOv5's bias priors. A plain ``DetectionModel`` built from
a YOLOv5-format yaml (``YOLO("yolov5s.yaml")``) becomes one of these at build time (``plugin/anchor_rows``).
"""

from __future__ import annotations

from ultralytics.nn.tasks import DetectionModel

from yolo_attn.anchor.head import AnchorDetect

__all__ = ("AnchorDetectionModel", "HEAD_ANCHOR", "HEAD_V5U", "head_kind")

HEAD_ANCHOR = "anchor"  # YOLOv5 v6/v7: anchor boxes, objectness, YOLOv5's loss
HEAD_V5U = "v5u"  # ultralytics' anchor-free Detect (YOLOv5u, YOLOv8 ...)


class AnchorDetectionModel(DetectionModel):
    """YOLOv5's detection model (``models.yolo.DetectionModel``) on ultralytics' ``DetectionModel``."""

    head_kind = HEAD_ANCHOR

    def init_criterion(self):
        from yolo_attn.anchor.loss import AnchorLoss

        return AnchorLoss(self)

    def _predict_augment(self, x):  # ultralytics' TTA assumes its own head's box layout
        return self._predict_once(x)


def head_kind(model) -> str:
    """``"anchor"`` for a model (or checkpoint model) with YOLOv5's anchor head, else ``"v5u"``."""
    m = getattr(model, "model", None)
    last = m[-1] if m is not None and len(m) else None
    return HEAD_ANCHOR if isinstance(last, AnchorDetect) else HEAD_V5U

"""The anchor-based YOLOv5 v6.0/v7.0 detector on ultralytics' trainer: head (``AnchorDetect``), model class
(``AnchorDetectionModel``), loss (``AnchorLoss``), AutoAnchor, ``hyp.scratch-low`` defaults, trainer glue.

Class paths here are pickled into checkpoints: never move them.
"""

from yolo_attn.anchor.head import AnchorDetect  # noqa: F401

"""Datasets for yolo_attn: the embedded synthetic set, dataset yamls for COCO and VisDrone, converters.

``yolo_attn.data.synthetic.make_dataset`` writes the deterministic demo set; ``yolo_attn.data.visdrone`` and
``yolo_attn.data.coco`` convert the official layouts to the YOLO layout ultralytics reads. ``DATA_DIR`` holds the
shipped dataset yamls (``coco.yaml``, ``VisDrone.yaml``).
"""

from pathlib import Path

from yolo_attn.data.synthetic import default_dataset, make_dataset

DATA_DIR = Path(__file__).resolve().parent

__all__ = ("DATA_DIR", "make_dataset", "default_dataset")

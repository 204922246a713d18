"""Evaluations beside ultralytics' own mAP: pycocotools COCOeval, and VisDrone's ignored-region protocol."""

from yolo_attn.eval.coco import coco_eval, summary_lines
from yolo_attn.eval.visdrone import drop_in_ignored, visdrone_eval

__all__ = ("coco_eval", "summary_lines", "visdrone_eval", "drop_in_ignored")

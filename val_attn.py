#!/usr/bin/env python
"""Validate a trained checkpoint: mAP50, mAP50-95, precision, recall, per-class table, speed.

For COCO-format data (a dataset yaml with coco_json, or COCO 2017) pycocotools COCOeval runs on the saved
predictions; for VisDrone (VisDrone.yaml) the ignored-region evaluation is printed beside the plain mAP.

Detection and segmentation checkpoints (the task is read from the checkpoint); segmentation adds the mask mAP.

Examples:
    python val_attn.py --weights runs/yolov5n-simam/weights/best.pt
    python val_attn.py --weights best.pt --data coco.yaml --imgsz 640 --batch-size 32 --device 0
"""

import sys

from yolo_attn.cli.guard import main_guard
from yolo_attn.cli.val import main as _main, parse_args as _parse


def parse_args(argv=None):
    return _parse(argv, __doc__)


def main(argv=None):
    _main(argv, __doc__)


if __name__ == "__main__":
    sys.exit(main_guard(main))

#!/usr/bin/env python
"""Validate a trained checkpoint: mAP50, mAP50-95, precision, recall, per-class table, speed.

For COCO-format data (a dataset yaml with coco_json, or COCO 2017) pycocotools COCOeval runs on the saved
predictions; for VisDrone (VisDrone.yaml) the ignored-region evaluation is printed beside the plain mAP.

Detection and segmentation checkpoints (the task is read from the checkpoint); segmentation adds the mask mAP.

Examples:
    python val_attn.py --weights runs/yolov5n-simam/weights/best.pt
    python val_attn.py --weights best.pt --data coco.yaml --imgsz 640 --batch-size 32 --device 0
"""

from yolo_attn.cli.guard import run_script, script_main
from yolo_attn.cli.val import main as _main

main = script_main(_main, __doc__)

if __name__ == "__main__":
    run_script(main)

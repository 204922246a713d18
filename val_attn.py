#!/usr/bin/env python
"""Validate a trained checkpoint: mAP50, mAP50-95, precision, recall, per-class table, speed.

For COCO-format data (a dataset yaml with coco_json, or COCO 2017) pycocotools COCOeval runs on the saved
predictions; for VisDrone (VisDrone.yaml) the ignored-region evaluation is printed beside the plain mAP.

Detection and segmentation checkpoints (the task is read from the checkpoint); segmentation adds the mask mAP.

Examples:
    python val_attn.py --weights runs/yolov5n-simam/weights/best.pt
    python val_attn.py --weights best.pt --data coco.yaml --imgsz 640 --batch-size 32 --device 0
"""

import argparse
import sys

from yolo_attn.cli.guard import main_guard
from yolo_attn.engine.val import validate
from yolo_attn.user_imports import add_import_arg, use_imports


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--weights", required=True, help="checkpoint (.pt) to validate")
    p.add_argument("--data", default=None,
                   help="dataset yaml, or an embedded set: shapes, shapes-hard, shapes-seg (default: the data the "
                        "checkpoint was trained on)")
    p.add_argument("--imgsz", "--img-size", "--img", dest="imgsz", type=int, default=None,
                   help="image size (default: the training size)")
    p.add_argument("--batch-size", "--batch", dest="batch_size", type=int, default=16, help="batch size (default: 16)")
    p.add_argument("--device", default=None, help="cpu or a GPU index")
    p.add_argument("--split", default="val", help="dataset split: val or test")
    p.add_argument("--workers", type=int, default=0)
    p.add_argument("--project", default="runs")
    p.add_argument("--name", default="val")
    p.add_argument("--exist-ok", action="store_true")
    p.add_argument("--verbose", action="store_true", help="on an error, print the full traceback too")
    add_import_arg(p)
    return p.parse_known_args(argv)


def main(argv=None):
    from yolo_attn.engine.checks import pass_through

    args, extra = parse_args(argv)
    use_imports(args.imports)
    validate(args.weights, args.data, imgsz=args.imgsz, batch=args.batch_size, device=args.device, split=args.split,
             workers=args.workers, project=args.project, name=args.name, exist_ok=args.exist_ok, **pass_through(extra))


if __name__ == "__main__":
    sys.exit(main_guard(main))

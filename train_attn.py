#!/usr/bin/env python
"""Train YOLOv5 + attention models with YOLOv5-style flags on ultralytics' trainer.

Examples:
    python train_attn.py --cfg yolov5n-simam.yaml                      # embedded demo set, CPU, a few minutes
    python train_attn.py --cfg yolov5s-ema.yaml --data coco.yaml --epochs 300 --imgsz 640 --batch-size 64 --device 0,1,2,3
    python train_attn.py --cfg all --seed 0 1 2 --epochs 20           # plain yolov5n and every attention config
    python train_attn.py --cfg yolov5n-se.yaml lr0=0.005 mosaic=0.5   # key=value goes to ultralytics
    python train_attn.py --cfg yolov5s.yaml --attn EMA --at 6,8 --attn-args 8  # generated yaml: runs/cfg/yolov5s-ema-6+8.yaml
    python train_attn.py --cfg yolov5n.yaml --data shapes-hard         # the harder embedded set (grids' default)
"""

import sys

from yolo_attn.cli.guard import main_guard
from yolo_attn.cli.train import parse_args as _parse, run


def parse_args(argv=None):
    return _parse(argv, __doc__)


def main(argv=None):
    parse_args(argv)  # --help / argparse errors print this script's usage
    for r in run(argv):
        print(f"run saved to {r}")


if __name__ == "__main__":
    sys.exit(main_guard(main))

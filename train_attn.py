#!/usr/bin/env python
"""Train YOLOv5 + attention models with YOLOv5-style flags on ultralytics' trainer.

Examples:
    python train_attn.py --cfg yolov5n-simam.yaml                      # embedded demo set, CPU, a few minutes
    python train_attn.py --cfg yolov5s-ema.yaml --data coco.yaml --epochs 300 --imgsz 640 --batch-size 64 --device 0,1,2,3
    python train_attn.py --cfg all --seed 0 1 2 --epochs 20           # plain yolov5n and every attention config
    python train_attn.py --cfg yolov5n-se.yaml lr0=0.005 mosaic=0.5   # key=value goes to ultralytics
    python train_attn.py --cfg yolov5s.yaml --attn EMA --at 6,8 --attn-args 8  # generated yaml: runs/cfg/yolov5s-ema-6+8.yaml
    python train_attn.py --cfg yolov5n-seg-se.yaml --data shapes-seg.yaml   # segmentation

Defaults follow the data: without --data (the embedded demo set) epochs 15, imgsz 128, batch 16, workers 0;
with any --data YOLOv5 train.py's: epochs 100, imgsz 640, batch 16, workers 8 (capped at the CPU count).
The run prints which defaults it used.
"""

import argparse
import sys

from yolo_attn.cli import main_guard
from yolo_attn.train import DEMO_DEFAULTS, YOLOV5_DEFAULTS, train


def _both(key: str) -> str:
    """'(default: 15 on the demo set, 100 with --data)' for ``--help``."""
    return f"(default: {DEMO_DEFAULTS[key]} on the demo set, {YOLOV5_DEFAULTS[key]} with --data)"


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--cfg", default=None,
                   help="model yaml: shipped name (yolov5s-ema.yaml), path, comma list, or 'all' (plain + every module); "
                        "default yolov5n-simam.yaml; with --attn, the base to insert into (any detector: yolo11n.yaml)")
    p.add_argument("--attn", default=None, help="insert this registered module into --cfg, e.g. EMA (writes PROJECT/cfg/*.yaml)")
    p.add_argument("--at", default=None,
                   help="where --attn goes: backbone (default, before SPPF), stages, neck, base layer indices 6,8, or a list backbone,neck")
    p.add_argument("--attn-args", default="", help="the module's own args (never channels), e.g. 8 or 16,7")
    p.add_argument("--scale", default="n", help="model scale n/s/m/l/x used by --cfg all")
    p.add_argument("--data", default=None, help="dataset yaml: coco.yaml, VisDrone.yaml or a path (default: embedded demo set)")
    p.add_argument("--weights", default=None, help="checkpoint of the same base and scale to start from: base layers map onto their new "
                        "indices across inserted attention rows (yolo_attn.load_weights); trains with optimizer=SGD "
                        "unless optimizer=... is given")
    p.add_argument("--epochs", type=int, default=None, help=f"training epochs {_both('epochs')}")
    p.add_argument("--batch-size", "--batch", dest="batch_size", type=int, default=None,
                   help=f"total batch size over all GPUs {_both('batch')}")
    p.add_argument("--imgsz", "--img-size", "--img", dest="imgsz", type=int, default=None,
                   help=f"train/val image size in pixels {_both('imgsz')}")
    p.add_argument("--device", default=None, help="cpu, 0, or 0,1,2,3 (several GPUs: ultralytics DDP); mps on Apple")
    p.add_argument("--workers", type=int, default=None,
                   help=f"dataloader workers per process {_both('workers')}, capped at the CPU count per GPU")
    p.add_argument("--project", default="runs", help="runs land in PROJECT/NAME")
    p.add_argument("--name", default=None, help="run name (default: the config name)")
    p.add_argument("--seed", type=int, nargs="+", default=[0], help="one run per seed, e.g. --seed 0 1 2")
    p.add_argument("--resume", nargs="?", const=True, default=False, help="resume the newest last.pt in --project, or a given last.pt")
    p.add_argument("--compile", action="store_true",
                   help="torch.compile the attention modules (opt-in; needs a C++ compiler on CPU, compiles per input size)")
    p.add_argument("--exist-ok", action="store_true", help="reuse PROJECT/NAME instead of incrementing the name")
    p.add_argument("--verbose", action="store_true", help="on an error, print the full traceback too")
    return p.parse_known_args(argv)


def main(argv=None):
    from yolo_attn.checks import pass_through

    args, extra = parse_args(argv)
    runs = train(
        args.cfg, args.data, weights=args.weights, epochs=args.epochs, batch=args.batch_size, imgsz=args.imgsz,
        device=args.device, workers=args.workers, project=args.project, name=args.name, seeds=args.seed,
        resume=args.resume, exist_ok=args.exist_ok, scale=args.scale, compile_modules=args.compile,
        attn=args.attn, at=args.at, attn_args=args.attn_args,
        **pass_through(extra),
    )
    for r in runs:
        print(f"run saved to {r}")


if __name__ == "__main__":
    sys.exit(main_guard(main))

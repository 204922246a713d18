"""The ``val_attn.py`` command line: its parser and one call to ``yolo_attn.engine.val.validate``."""

from __future__ import annotations

import argparse

from yolo_attn.cli.passthrough import pass_through
from yolo_attn.engine.val import validate
from yolo_attn.user_imports import add_import_arg, use_imports
from yolo_attn.checkpoint.loader import add_trust_arg, use_trust

__all__ = ("parse_args", "main")


def parse_args(argv=None, doc: str | None = None):
    """``(namespace, extra)``: the ``val_attn.py`` flags and the unparsed ``key=value`` tokens."""
    p = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
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
    p.add_argument("--protocol", default="ultralytics", choices=("ultralytics", "yolov5"),
                   help="validation settings: ultralytics' own (NMS IoU 0.7), or YOLOv5 val.py's (NMS IoU 0.6, 0.65 on "
                        "COCO; conf 0.001; max_det 300; fitness 0.1 mAP50 + 0.9 mAP50-95), for figures comparable "
                        "with YOLOv5's tables (default: ultralytics)")
    p.add_argument("--verbose", action="store_true", help="on an error, print the full traceback too")
    add_import_arg(p)
    add_trust_arg(p)
    return p.parse_known_args(argv)


def main(argv=None, doc: str | None = None):
    """Parse ``val_attn.py`` arguments and validate."""
    args, extra = parse_args(argv, doc)
    use_trust(args.trust_weights)
    use_imports(args.imports)
    validate(args.weights, args.data, imgsz=args.imgsz, batch=args.batch_size, device=args.device, split=args.split,
             workers=args.workers, project=args.project, name=args.name, exist_ok=args.exist_ok, protocol=args.protocol,
             **pass_through(extra))

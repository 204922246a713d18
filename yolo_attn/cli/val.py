"""The ``val_attn.py`` command line: its parser and one call to ``yolo_attn.engine.val.validate``."""

from __future__ import annotations

import argparse

from yolo_attn.cli.passthrough import pass_through
from yolo_attn.engine.val import validate
from yolo_attn.cli.guard import add_loading_args, use_loading_args, add_protocol_arg

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
    add_protocol_arg(p, "this validation")
    p.add_argument("--verbose", action="store_true", help="on an error, print the full traceback too")
    add_loading_args(p)
    return p.parse_known_args(argv)


def main(argv=None, doc: str | None = None):
    """Parse ``val_attn.py`` arguments and validate."""
    args, extra = parse_args(argv, doc)
    use_loading_args(args)
    validate(args.weights, args.data, imgsz=args.imgsz, batch=args.batch_size, device=args.device, split=args.split,
             workers=args.workers, project=args.project, name=args.name, exist_ok=args.exist_ok, protocol=args.protocol,
             **pass_through(extra))

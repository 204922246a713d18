"""The ``visualize_attn.py`` command line: its parser, the default source, and the output folder's cleanup."""

from __future__ import annotations

import argparse
from pathlib import Path

import yaml

from yolo_attn.errors import UsageError
from yolo_attn.user_imports import add_import_arg, use_imports
from yolo_attn.checkpoint.loader import add_trust_arg, use_trust

__all__ = ("parse_args", "main")


def parse_args(argv=None, doc: str | None = None):
    p = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--weights", required=True, help="checkpoint, e.g. runs/<run>/weights/best.pt")
    p.add_argument("--source", default=None, help="image file or folder (default: the embedded demo set's val images)")
    p.add_argument("--imgsz", "--img-size", "--img", dest="imgsz", type=int, default=None,
                   help="input size (default: the checkpoint's train size)")
    p.add_argument("--project", default="runs/attention", help="save to PROJECT/NAME (default: runs/attention)")
    p.add_argument("--name", default="exp", help="save to PROJECT/NAME (default: exp; exp-2, exp-3, ... if it exists)")
    p.add_argument("--exist-ok", action="store_true", help="write into an existing PROJECT/NAME instead of incrementing")
    p.add_argument("--out", default=None, help="save to exactly this folder (instead of PROJECT/NAME)")
    p.add_argument("--topk", type=int, default=32, help="channels shown in each bar chart")
    p.add_argument("--max-images", type=int, default=8, help="at most this many images from a folder (0: all)")
    p.add_argument("--verbose", action="store_true", help="on an error, print the full traceback too")
    add_import_arg(p)
    add_trust_arg(p)
    return p.parse_args(argv)


def main(argv=None, doc: str | None = None):
    """Parse ``visualize_attn.py`` arguments and save the attention pictures."""
    from yolo_attn.analysis.visualize import save_dir, visualize

    args = parse_args(argv, doc)
    use_trust(args.trust_weights)
    use_imports(args.imports)
    if not Path(args.weights).is_file():
        raise UsageError(f"--weights {args.weights}: no such file")
    source = args.source
    if source is None:
        from yolo_attn.data.synthetic import default_dataset

        d = yaml.safe_load(default_dataset().read_text())
        source = Path(d["path"]) / d["val"]
    out = Path(args.out) if args.out else save_dir(args.project, args.name, args.exist_ok)
    try:
        files = visualize(args.weights, source, out, imgsz=args.imgsz, topk=args.topk, max_images=args.max_images or None)
    except (FileNotFoundError, ValueError) as e:
        if not args.out and out.is_dir() and not any(out.iterdir()):
            out.rmdir()  # no half-made (empty) run folder
        raise UsageError(str(e)) from None
    print(f"{len(files)} files saved to {out}")

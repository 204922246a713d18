#!/usr/bin/env python
"""Save pictures of the attention weights a trained model applies to an image (or to each image of a folder).

Examples:
    python visualize_attn.py --weights runs/yolov5n-cbam/weights/best.pt                 # embedded demo set's val images
    python visualize_attn.py --weights best.pt --source street.jpg --imgsz 640
    python visualize_attn.py --weights best.pt --source images/ --max-images 20 --topk 16
    python visualize_attn.py --weights best.pt --project runs/attention --name exp --exist-ok

Output folder as YOLOv5's detect.py: PROJECT/NAME (runs/attention/exp), incremented (exp-2, exp-3, ...) unless
--exist-ok; --out DIR writes to DIR exactly (the older spelling). Detection and segmentation checkpoints.
Per image, under that folder/<image name>/: one PNG per attention layer (spatial weights as a heatmap over the image,
channel weights as a bar chart of the strongest channels), contact_sheet.png with every layer, and
attention_values.npz with the exact plotted values.
"""

import argparse
import sys

from yolo_attn.cli.guard import main_guard
from yolo_attn.user_imports import add_import_arg, use_imports


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
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
    return p.parse_args(argv)


def main(argv=None):
    from pathlib import Path

    import yaml

    from yolo_attn.engine.checks import UsageError
    from yolo_attn.analysis.visualize import save_dir, visualize

    args = parse_args(argv)
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


if __name__ == "__main__":
    sys.exit(main_guard(main))

"""The ``visualize_attn.py`` command line: its parser, the default source, and the output folder's cleanup."""

from __future__ import annotations

import argparse
from pathlib import Path

import yaml

from yolo_attn.errors import UsageError
from yolo_attn.cli.guard import add_loading_args, use_loading_args

__all__ = ("parse_args", "main")


def parse_args(argv=None, doc: str | None = None):
    p = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--weights", required=True, action="append",
                   help="checkpoint, e.g. runs/<run>/weights/best.pt; with --cam give it twice or more (side by side)")
    p.add_argument("--cam", choices=("eigencam", "gradcam"), default=None,
                   help="class-activation heatmaps (grad-cam package: pip install yolo_attn[cam]) of every --weights "
                        "side by side: <image>_cam.png and <image>_cam.npz per image")
    p.add_argument("--cam-layers", default=None,
                   help="with --cam: comma-separated model rows to take the heatmap from (default: the head's inputs)")
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
    add_loading_args(p)
    return p.parse_args(argv)


def main(argv=None, doc: str | None = None):
    """Parse ``visualize_attn.py`` arguments and save the attention pictures."""
    from yolo_attn.analysis.visualize import save_dir, visualize

    args = parse_args(argv, doc)
    use_loading_args(args)
    for w in args.weights:
        if not Path(w).is_file():
            raise UsageError(f"--weights {w}: no such file")
    if not args.cam and len(args.weights) > 1:
        raise UsageError("--weights: given more than once; side-by-side checkpoints need --cam eigencam|gradcam")
    layers = _cam_layers(args.cam_layers)
    if args.cam:
        from yolo_attn.analysis.cam import cam_class

        cam_class(args.cam)  # the grad-cam package, before any output folder is made
    source = args.source
    if source is None:
        from yolo_attn.data.synthetic import default_dataset

        d = yaml.safe_load(default_dataset().read_text())
        source = Path(d["path"]) / d["val"]
    out = Path(args.out) if args.out else save_dir(args.project, args.name, args.exist_ok)
    try:
        if args.cam:
            from yolo_attn.analysis.cam import visualize_cam

            files = visualize_cam(args.weights, source, out, method=args.cam, imgsz=args.imgsz,
                                  max_images=args.max_images or None, layers=layers)
        else:
            files = visualize(args.weights[0], source, out, imgsz=args.imgsz, topk=args.topk,
                              max_images=args.max_images or None)
    except (FileNotFoundError, ValueError, UsageError) as e:
        if not args.out and out.is_dir() and not any(out.iterdir()):
            out.rmdir()  # no half-made (empty) run folder
        raise UsageError(str(e)) from None
    print(f"{len(files)} files saved to {out}")


def _cam_layers(text: str | None) -> list[int] | None:
    """``--cam-layers 17,20,23`` as row indices."""
    if not text:
        return None
    try:
        return [int(t) for t in text.split(",") if t.strip()]
    except ValueError:
        raise UsageError(f"--cam-layers {text}: comma-separated layer indices, e.g. 17,20,23") from None

"""``python -m yolo_attn check IN.yaml [--scale s]``: build a model yaml as ``YOLO()`` does and say what it became.

Prints the model summary, one note per row read in another dialect (fork-style channel counts, peer class names),
and the parameters and GFLOPs its attention layers add to the base model. A yaml that does not build gives one
``error:`` line naming the file, the layer and the fix (exit 2).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from yolo_attn.errors import UsageError

__all__ = ("build_parser", "main", "load_or_usage")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m yolo_attn check", description=__doc__.split("\n\n")[0])
    p.add_argument("yaml", help="model yaml (ultralytics style, or YOLOv5 format with anchors:)")
    p.add_argument("--scale", choices=list("nsmlx"), help="model scale (default: from the file name, as YOLO())")
    p.add_argument("--imgsz", type=int, default=640, help="image size of the GFLOPs figure (default 640)")
    return p


def load_or_usage(path: str, scale, transform=None):
    """``(dict, model, notes)`` for ``path`` (``transform(d)`` applied first when given, e.g. ``fix --expand``); any
    failure to read or build it is a UsageError naming the file."""
    from yolo_attn.graph.wild import build_yaml, load_yaml

    if not Path(path).is_file():
        raise UsageError(f"{path}: no such file; give the path of a model yaml")
    try:
        d = load_yaml(path, scale)
        if transform is not None:
            d = transform(d)
        model, notes = build_yaml(d)
    except (ValueError, KeyError, TypeError, IndexError, AssertionError) as e:
        msg = e.args[0] if isinstance(e, KeyError) and e.args else str(e)
        raise UsageError(msg if Path(path).name in str(msg) else f"{path}: {msg}") from e
    return d, model, notes


def main(argv=None) -> None:
    import yolo_attn  # noqa: F401  (registers the modules)
    from yolo_attn.graph.wild import attention_cost

    args = build_parser().parse_args(argv)
    d, model, notes = load_or_usage(args.yaml, args.scale)
    model.info(imgsz=args.imgsz)
    print(f"{len(notes)} row(s) read in another dialect" + (":" if notes else ""))
    for note in notes:
        print(f"  {note.text}")
    params, gflops = attention_cost(model, d, args.imgsz)
    print(f"attention layers: +{params:,} parameters, +{gflops:.3f} GFLOPs at {args.imgsz} over the model without them")

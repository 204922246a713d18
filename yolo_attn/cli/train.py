"""The ``train_attn.py`` command line as a library: one parser and one call to ``yolo_attn.engine.train.train``.

``train_attn.py`` and every cell of an ablation grid (``yolo_attn.grid.run``) go through ``run(argv)``, so a grid cell
trains exactly what ``python train_attn.py ARGV`` trains: same parsing, same defaults, same ``train(...)`` call.
"""

from __future__ import annotations

import argparse

from yolo_attn.engine.train import DEMO_DEFAULTS, YOLOV5_DEFAULTS
from yolo_attn.cli.guard import add_loading_args, use_loading_args, add_protocol_arg

__all__ = ("add_train_args", "parse_args", "fill_demo_defaults", "train_kwargs", "run", "resolve_data_alias")


def _both(key: str) -> str:
    """'(default: 15 on the demo set, 100 with --data)' for ``--help``."""
    return f"(default: {DEMO_DEFAULTS[key]} on the demo set, {YOLOV5_DEFAULTS[key]} with --data)"


def add_train_args(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Add the training flags shared by ``train_attn.py`` and ``ablate_attn.py`` to ``p``."""
    p.add_argument("--cfg", default=None,
                   help="model yaml: shipped name (yolov5s-ema.yaml), path, comma list, or 'all' (plain + every module); "
                        "default yolov5n-simam.yaml; with --attn, the base to insert into (any detector: yolo11n.yaml)")
    p.add_argument("--attn", default=None, help="insert this registered module into --cfg, e.g. EMA (writes PROJECT/cfg/*.yaml)")
    p.add_argument("--at", default=None,
                   help="where --attn goes: backbone (default, before SPPF), stages, neck, base layer indices 6,8, or a list backbone,neck")
    p.add_argument("--attn-args", default="", help="the module's own args (never channels), e.g. 8 or 16,7")
    p.add_argument("--anchors", action="store_true",
                   help="YOLOv5's anchor-based head (v6.0/v7.0, as in the papers) instead of YOLOv5u's anchor-free one; "
                        "YOLOv5-family configs only; trains with hyp.scratch-low defaults (docs/YOLOV5.md)")
    p.add_argument("--noautoanchor", action="store_true", help="anchor-based head: keep the yaml's anchors (no AutoAnchor)")
    p.add_argument("--scale", default=None,
                   help="model scale n/s/m/l/x: for --cfg all (default n), and applied to a scale-less --cfg name "
                        "(--cfg yolov5.yaml --scale s = yolov5s.yaml); a --cfg that says another scale is refused")
    p.add_argument("--data", default=None,
                   help="dataset yaml: coco.yaml, VisDrone.yaml, a path, or an embedded set: shapes (the demo set), "
                        "shapes-hard, shapes-seg (demo defaults; default: shapes)")
    p.add_argument("--weights", default=None, help="checkpoint of the same base and scale to start from: base layers map onto their new "
                        "indices across inserted attention rows (yolo_attn.load_weights); fine-tunes with "
                        "optimizer=AdamW lr0=0.0001 warmup_epochs=0 unless optimizer=... is given (measured: docs/MEASUREMENTS.md); "
                        "--anchors runs fine-tune as YOLOv5's train.py does: hyp.scratch-low, warm-up of at least 100 "
                        "iterations")
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
    add_protocol_arg(p, "every epoch and the final validation (recorded in the run's protocol.json)")
    p.add_argument("--verbose", action="store_true", help="on an error, print the full traceback too")
    add_loading_args(p)
    return p


def parse_args(argv=None, description: str | None = None):
    """``(namespace, extra)``: the training flags and the unparsed ``key=value`` tokens."""
    from yolo_attn.cli.passthrough import end_values_at_settings

    p = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    return add_train_args(p).parse_known_args(end_values_at_settings(argv))  # --seed 0 1 lr0=0.01


def resolve_data_alias(data: str | None) -> str | None:
    """An embedded set's name (``shapes``, ``shapes-hard``, ``shapes-seg``) -> its dataset yaml (generated on first
    use, ``yolo_attn.data.embedded``); anything else unchanged."""
    from pathlib import Path

    from yolo_attn.data.embedded import embedded_dataset

    found = None if data is None or Path(data).is_file() else embedded_dataset(data)
    return str(found) if found else data


def fill_demo_defaults(args: argparse.Namespace) -> argparse.Namespace:
    """Set ``--epochs --batch-size --imgsz --workers`` left unset to the demo set's defaults (``DEMO_DEFAULTS``)."""
    for attr, key in (("epochs", "epochs"), ("batch_size", "batch"), ("imgsz", "imgsz"), ("workers", "workers")):
        if getattr(args, attr) is None:
            setattr(args, attr, DEMO_DEFAULTS[key])
    return args


def train_kwargs(args: argparse.Namespace, extra: list[str]) -> tuple[tuple, dict]:
    """``(positional, keyword)`` arguments of ``yolo_attn.engine.train.train`` for parsed ``train_attn.py`` flags."""
    from yolo_attn.cli.passthrough import pass_through

    data = resolve_data_alias(args.data)
    if data != args.data:  # the embedded sets are trained like the demo set (15 epochs at 128 px), not like COCO
        fill_demo_defaults(args)
    kw = dict(
        weights=args.weights, epochs=args.epochs, batch=args.batch_size, imgsz=args.imgsz, device=args.device,
        workers=args.workers, project=args.project, name=args.name, seeds=args.seed, resume=args.resume,
        exist_ok=args.exist_ok, scale=args.scale, compile_modules=args.compile, **pass_through(extra),
    )
    kw.update(attn=args.attn, at=args.at, attn_args=args.attn_args)  # train() checks them
    kw.update(anchors=True if args.anchors else None, noautoanchor=args.noautoanchor, protocol=args.protocol)
    return (args.cfg, data), kw


def run(argv=None):
    """Parse ``train_attn.py`` arguments and train; return the run folders."""
    from yolo_attn.engine.train import train

    args, extra = parse_args(argv)
    use_loading_args(args)  # before any yaml is read: the user's modules register their classes
    pos, kw = train_kwargs(args, extra)
    return train(*pos, **kw)

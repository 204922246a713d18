"""The ``train_attn.py`` command line as a library: one parser and one call to ``yolo_attn.train.train``.

``train_attn.py`` and every cell of an ablation grid (``yolo_attn.grid``) go through ``run(argv)``, so a grid cell
trains exactly what ``python train_attn.py ARGV`` trains: same parsing, same defaults, same ``train(...)`` call.
"""

from __future__ import annotations

import argparse

from yolo_attn.train import DEFAULT_BATCH, DEFAULT_EPOCHS, DEFAULT_IMGSZ

__all__ = ("add_train_args", "parse_args", "train_kwargs", "run", "resolve_data_alias")


def add_train_args(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Add the training flags shared by ``train_attn.py`` and ``ablate_attn.py`` to ``p``."""
    p.add_argument("--cfg", default=None,
                   help="model yaml: shipped name (yolov5s-ema.yaml), path, comma list, or 'all' (plain + every module); "
                        "default yolov5n-simam.yaml; with --attn, the base to insert into (any detector: yolo11n.yaml)")
    p.add_argument("--attn", default=None, help="insert this registered module into --cfg, e.g. EMA (writes PROJECT/cfg/*.yaml)")
    p.add_argument("--at", default=None,
                   help="where --attn goes: backbone (default, before SPPF), stages, neck, base layer indices 6,8, or a list backbone,neck")
    p.add_argument("--attn-args", default="", help="the module's own args (never channels), e.g. 8 or 16,7")
    p.add_argument("--scale", default="n", help="model scale n/s/m/l/x used by --cfg all")
    p.add_argument("--data", default=None,
                   help="dataset yaml: coco.yaml, VisDrone.yaml, shapes-hard (the embedded hard set) or a path "
                        "(default: embedded demo set)")
    p.add_argument("--weights", default=None, help="checkpoint of the same base and scale to start from: base layers map onto their new "
                        "indices across inserted attention rows (yolo_attn.load_weights)")
    p.add_argument("--epochs", type=int, default=DEFAULT_EPOCHS)
    p.add_argument("--batch-size", type=int, default=DEFAULT_BATCH, help="total batch size over all GPUs")
    p.add_argument("--imgsz", "--img-size", type=int, default=DEFAULT_IMGSZ, help="train/val image size (pixels)")
    p.add_argument("--device", default=None, help="cpu, 0, or 0,1,2,3 (several GPUs: ultralytics DDP)")
    p.add_argument("--workers", type=int, default=0, help="dataloader workers per process")
    p.add_argument("--project", default="runs", help="runs land in PROJECT/NAME")
    p.add_argument("--name", default=None, help="run name (default: the config name)")
    p.add_argument("--seed", type=int, nargs="+", default=[0], help="one run per seed, e.g. --seed 0 1 2")
    p.add_argument("--resume", nargs="?", const=True, default=False,
                   help="resume the newest last.pt in --project, or a given last.pt")
    p.add_argument("--compile", action="store_true",
                   help="torch.compile the attention modules (opt-in; needs a C++ compiler on CPU, compiles per input size)")
    p.add_argument("--exist-ok", action="store_true", help="reuse PROJECT/NAME instead of incrementing the name")
    return p


def parse_args(argv=None, description: str | None = None):
    """``(namespace, extra)``: the training flags and the unparsed ``key=value`` tokens."""
    p = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    return add_train_args(p).parse_known_args(argv)


def resolve_data_alias(data: str | None) -> str | None:
    """``shapes-hard`` -> the embedded hard set's yaml (generated on first use); anything else unchanged."""
    from yolo_attn.data.shapes_hard import HARD_ALIAS, default_hard_dataset

    return str(default_hard_dataset()) if data in (HARD_ALIAS, HARD_ALIAS + ".yaml") else data


def train_kwargs(args: argparse.Namespace, extra: list[str]) -> tuple[tuple, dict]:
    """``(positional, keyword)`` arguments of ``yolo_attn.train.train`` for parsed ``train_attn.py`` flags."""
    from yolo_attn.checks import pass_through

    kw = dict(
        weights=args.weights, epochs=args.epochs, batch=args.batch_size, imgsz=args.imgsz, device=args.device,
        workers=args.workers, project=args.project, name=args.name, seeds=args.seed, resume=args.resume,
        exist_ok=args.exist_ok, scale=args.scale, compile_modules=args.compile, **pass_through(extra),
    )
    kw.update(attn=args.attn, at=args.at, attn_args=args.attn_args)  # train() checks them
    return (args.cfg, resolve_data_alias(args.data)), kw


def run(argv=None):
    """Parse ``train_attn.py`` arguments and train; return the run folders."""
    from yolo_attn.train import train

    pos, kw = train_kwargs(*parse_args(argv))
    return train(*pos, **kw)

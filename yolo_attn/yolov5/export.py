"""The way back to YOLOv5: a yolo_attn anchor-based checkpoint as a checkpoint YOLOv5's own code reads.

``python -m yolo_attn.yolov5 export-ckpt best.pt yolov5-best.pt``, run inside a YOLOv5 clone (or with
``pip install yolov5``), builds YOLOv5's own ``Model`` from the checkpoint's model yaml in YOLOv5's format
(``yolov5_format``: ``depth_multiple``/``width_multiple`` for ultralytics' ``scales``, ``Detect, [nc, anchors]``),
loads every tensor strictly and saves it as YOLOv5's train.py leaves ``best.pt`` after ``strip_optimizer``
(``{'model': fp16 Model, 'ema': None, 'epoch': -1, ...}``). YOLOv5's ``detect.py``, ``val.py`` and ``export.py``
then read it with ``attempt_load``; attention rows are yolo_attn's classes, so those need yolo_attn installed, as a
model built by ``python -m yolo_attn.yolov5 train.py`` does.
"""

from __future__ import annotations

import copy
from datetime import datetime
from pathlib import Path

import torch

from yolo_attn.graph.anchors import yolov5_format
from yolo_attn.errors import UsageError

__all__ = ("yolov5_format", "export_checkpoint", "EXPORT_USAGE")

EXPORT_USAGE = "usage: python -m yolo_attn.yolov5 export-ckpt BEST.pt OUT.pt  (inside a YOLOv5 clone)"


def _yolov5_model_class():
    """YOLOv5's ``Model`` (the clone's ``models.yolo`` or the packaged ``yolov5.models.yolo``), plugin installed."""
    import yolo_attn.yolov5 as y5

    y5.install()
    return y5._yolo_modules()[0].Model


def export_checkpoint(src, dst) -> Path:
    """Write ``src`` (a yolo_attn anchor-based ``best.pt``) to ``dst`` as a YOLOv5 checkpoint; return ``dst``."""
    from yolo_attn.anchor.model import HEAD_ANCHOR, head_kind
    from yolo_attn.engine.checkpoints import check_weights

    ckpt = check_weights(str(src))
    ours = (ckpt.get("ema") or ckpt["model"]).float()
    if head_kind(ours) != HEAD_ANCHOR:
        raise UsageError(f"{src}: an anchor-free (YOLOv5u) model; YOLOv5's code reads only anchor-based ones "
                         f"(train with --anchors)")
    head = ours.model[-1]
    theirs = _yolov5_model_class()(yolov5_format(ours.yaml, head.nc), ch=3, nc=head.nc)
    try:
        theirs.load_state_dict(ours.state_dict(), strict=True)
    except RuntimeError as e:
        raise UsageError(f"{src}: YOLOv5's model built from its yaml does not take its tensors "
                         f"({str(e).splitlines()[0]}); nothing written") from None
    names = getattr(ours, "names", None) or {i: f"class{i}" for i in range(head.nc)}
    theirs.names = [names[i] for i in range(head.nc)] if isinstance(names, dict) else list(names)
    theirs.nc = head.nc
    out = {"epoch": -1, "best_fitness": None, "model": copy.deepcopy(theirs).half(), "ema": None, "updates": None,
           "optimizer": None, "opt": {"cfg": "", "imgsz": (ckpt.get("train_args") or {}).get("imgsz", 640)},
           "git": None, "date": datetime.now().isoformat()}
    dst = Path(dst)
    tmp = dst.with_name(dst.name + ".partial")
    torch.save(out, tmp)
    tmp.replace(dst)  # never a half-written checkpoint
    print(f"{dst}: YOLOv5 checkpoint of {src} ({sum(p.numel() for p in theirs.parameters()):,} parameters, nc "
          f"{head.nc}); read it with YOLOv5's detect.py / val.py / export.py --weights {dst}")
    return dst

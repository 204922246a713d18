"""YOLOv5's ``data/hyps/hyp.scratch-low.yaml`` as training defaults for the anchor-based head, and the loss gains
scaled as YOLOv5's train.py scales them.

Settings ultralytics knows (optimizer, lr0, momentum, box, cls, augmentation, ...) become trainer overrides, each
overridable like any ultralytics setting. The YOLOv5-only ones (``obj``, ``anchor_t``, ``obj_pw``, ``cls_pw``,
``fl_gamma``, ``label_smoothing``; ultralytics' own ``cls_pw`` means something else) live in the model's
``yaml["hyp"]`` (a ``hyp:`` block in the model yaml, or ``train(..., obj=0.7)``) and the loss reads them there.
"""

from __future__ import annotations

import math

from yolo_attn.errors import UsageError

__all__ = ("SCRATCH_LOW", "TRAINER_DEFAULTS", "YOLOV5_ONLY", "VALID_RANGES", "loss_hyp", "defaults_line",
           "split_yolov5_only", "check_yolov5_hyp")

SCRATCH_LOW = {
    "lr0": 0.01, "lrf": 0.01, "momentum": 0.937, "weight_decay": 0.0005, "warmup_epochs": 3.0,
    "warmup_momentum": 0.8, "warmup_bias_lr": 0.1, "box": 0.05, "cls": 0.5, "cls_pw": 1.0, "obj": 1.0, "obj_pw": 1.0,
    "iou_t": 0.20, "anchor_t": 4.0, "fl_gamma": 0.0, "hsv_h": 0.015, "hsv_s": 0.7, "hsv_v": 0.4, "degrees": 0.0,
    "translate": 0.1, "scale": 0.5, "shear": 0.0, "perspective": 0.0, "flipud": 0.0, "fliplr": 0.5, "mosaic": 1.0,
    "mixup": 0.0, "copy_paste": 0.0,
}
# YOLOv5-only settings (not ultralytics arguments); label_smoothing is train.py's --label-smoothing (default 0)
YOLOV5_ONLY = {k: SCRATCH_LOW[k] for k in ("obj", "obj_pw", "cls_pw", "anchor_t", "fl_gamma", "iou_t")}
YOLOV5_ONLY["label_smoothing"] = 0.0
# ultralytics trainer overrides: YOLOv5's SGD and no close-mosaic, plus every scratch-low value ultralytics knows
TRAINER_DEFAULTS = {"optimizer": "SGD", "close_mosaic": 0,
                    **{k: v for k, v in SCRATCH_LOW.items() if k not in YOLOV5_ONLY}}


# (low, high, low inclusive, high inclusive, why): the values each YOLOv5-only setting can take and still train.
# anchor_t is a ratio threshold max(r, 1/r) < anchor_t, with max(r, 1/r) >= 1: at or below 1 no target matches an
# anchor and the box and class losses are 0 (a run "trains" to nothing); AutoAnchor divides by it.
VALID_RANGES = {
    "obj": (0.0, 1e3, True, True, "the objectness loss gain, e.g. 1.0"),
    "obj_pw": (0.0, 1e3, False, True, "the objectness BCE positive weight, e.g. 1.0"),
    "cls_pw": (0.0, 1e3, False, True, "the class BCE positive weight, e.g. 1.0"),
    "anchor_t": (1.0, 1e3, False, True, "the anchor-multiple threshold, e.g. 4.0 (YOLOv5 evolves it in 2-8)"),
    "fl_gamma": (0.0, 10.0, True, True, "the focal loss gamma, 0 for none, e.g. 1.5"),
    "iou_t": (0.0, 1.0, False, True, "the IoU training threshold, e.g. 0.2"),
    "label_smoothing": (0.0, 1.0, True, False, "the label smoothing epsilon, e.g. 0.1"),
}


def check_yolov5_hyp(values: dict, label: str = "") -> dict:
    """Refuse a YOLOv5-only setting that is not a number in its range (``VALID_RANGES``), naming the setting and
    the range: ``anchor_t=0`` divides by zero, ``anchor_t=-4`` trains to box_loss 0. ``noautoanchor`` is a bool."""
    for k, v in values.items():
        where = f"{label}: " if label else ""
        if k == "noautoanchor":
            if not isinstance(v, bool):
                raise UsageError(f"{where}noautoanchor={v!r}: must be true or false")
            continue
        if k not in VALID_RANGES:
            continue
        lo, hi, lo_in, hi_in, why = VALID_RANGES[k]
        number = isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
        inside = number and (lo <= v if lo_in else lo < v) and (v <= hi if hi_in else v < hi)
        if not inside:
            rng = f"{'[' if lo_in else '('}{lo:g}, {hi:g}{']' if hi_in else ')'}"
            raise UsageError(f"{where}{k}={v!r}: must be a number in {rng}, {why}")
    return values


def split_yolov5_only(overrides: dict) -> dict:
    """Pop the YOLOv5-only settings (``obj=0.7``, ``anchor_t=3.0`` ...) out of ``overrides``, checked against
    ``VALID_RANGES`` (``overrides`` unchanged on a bad value); return them."""
    check_yolov5_hyp({k: v for k, v in overrides.items() if k in YOLOV5_ONLY})
    return {k: overrides.pop(k) for k in list(overrides) if k in YOLOV5_ONLY}


def loss_hyp(nl: int, nc: int, imgsz: int = 640, box: float | None = None, cls: float | None = None,
             extra: dict | None = None) -> dict:
    """The hyp dict ``AnchorLoss`` uses: scratch-low (``box``/``cls`` and ``extra`` override it), with the gains
    scaled as YOLOv5's train.py does: box x 3/nl, cls x nc/80 x 3/nl, obj x (imgsz/640)^2 x 3/nl."""
    h = dict(YOLOV5_ONLY, box=SCRATCH_LOW["box"] if box is None else box,
             cls=SCRATCH_LOW["cls"] if cls is None else cls)
    h.update(extra or {})
    h["box"] *= 3 / nl
    h["cls"] *= nc / 80 * 3 / nl
    h["obj"] *= (imgsz / 640) ** 2 * 3 / nl
    return h


def defaults_line(given: dict, yolov5_only_given: dict | None = None) -> str:
    """The ``defaults:`` line naming the scratch-low values used (those not given), "" if every one was given."""
    used = {k: v for k, v in TRAINER_DEFAULTS.items() if k not in given}
    used.update({k: v for k, v in YOLOV5_ONLY.items() if k not in (yolov5_only_given or {}) and k != "iou_t"})
    if not used:
        return ""
    shown = ("optimizer", "lr0", "lrf", "momentum", "weight_decay", "warmup_epochs", "warmup_bias_lr", "box", "obj",
             "cls", "anchor_t", "close_mosaic")
    parts = [f"{k} {used[k]}" for k in shown if k in used]
    rest = len(used) - len(parts)
    more = f" and {rest} more (augmentation, warm-up momentum, BCE weights)" if rest else ""
    return "defaults: " + ", ".join(parts) + more + " (YOLOv5 hyp.scratch-low, for the anchor-based head)"

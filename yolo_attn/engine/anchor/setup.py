"""What ``yolo_attn.engine.train.train`` does for the anchor-based head: which configs get it (``--anchors``, or a
YOLOv5-format yaml), their effective yaml in ``project/cfg``, hyp.scratch-low defaults per config, the YOLOv5-only
settings, and the trainer of every run (``trainer_for``: the one place that chooses it)."""

from __future__ import annotations

from pathlib import Path

from yolo_attn.anchor.hyp import TRAINER_DEFAULTS, defaults_line, split_yolov5_only
from yolo_attn.errors import UsageError

__all__ = ("anchor_settings", "trainer_for")


def _is_anchor_cfg(cfg) -> bool:
    from yolo_attn.graph.anchors import is_anchor_yaml, load_model_dict

    try:
        return is_anchor_yaml(load_model_dict(cfg))
    except Exception:  # unreadable yaml: check_model_cfg names the problem next
        return False


def anchor_settings(cfgs: list[str], anchors, noautoanchor: bool, overrides: dict, project: str):
    """``(cfgs, per_cfg, note)``: configs with anchor-based ones rewritten to ``project/cfg/<stem>-anchors.yaml``,
    per config the extra ``train_one`` keywords (scratch-low defaults not in ``overrides``, ``yolov5_hyp``), and
    the ``defaults:`` line. Pops the YOLOv5-only settings (``obj``, ``anchor_t``, ...) out of ``overrides``."""
    from yolo_attn.graph.anchors import anchor_cfg

    yolov5_only = split_yolov5_only(overrides)
    folder = Path(project) / "cfg"
    out, per_cfg, any_anchor = [], {}, False
    for c in cfgs:
        if anchors not in (None, False) or _is_anchor_cfg(c):
            c = str(anchor_cfg(c, folder, True if anchors in (None, False) else anchors))
            per_cfg[c] = {**{k: v for k, v in TRAINER_DEFAULTS.items() if k not in overrides},
                          "yolov5_hyp": {**yolov5_only, **({"noautoanchor": True} if noautoanchor else {})}}
            any_anchor = True
        else:
            per_cfg[c] = {}
        out.append(c)
    if not any_anchor and (yolov5_only or noautoanchor):
        given = ", ".join([*(f"{k}={v}" for k, v in yolov5_only.items()), *(["--noautoanchor"] if noautoanchor else [])])
        raise UsageError(f"{given}: YOLOv5 settings of the anchor-based head, and --cfg {', '.join(cfgs)} has none; "
                         f"add --anchors (YOLOv5 v6/v7 head) or drop them")
    return out, per_cfg, defaults_line(overrides, yolov5_only) if any_anchor else ""


def trainer_for(task: str, model):
    """The trainer class of a run: ``AnchorDetectionTrainer`` for YOLOv5's anchor-based head (gains, AutoAnchor),
    else yolo_attn's trainer for ``task``. ``model``: the model being trained, or a checkpoint dict to resume."""
    from yolo_attn.anchor.model import HEAD_ANCHOR, head_kind
    from yolo_attn.engine.trainers import TRAINERS

    if isinstance(model, dict):
        model = model.get("ema") or model.get("model")
    if head_kind(model) == HEAD_ANCHOR:
        from yolo_attn.engine.anchor.trainer import AnchorDetectionTrainer

        return AnchorDetectionTrainer
    return TRAINERS[task]

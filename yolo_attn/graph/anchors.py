"""Anchor-based yaml rows: which model dicts have YOLOv5's ``Detect, [nc, anchors]`` head (``is_anchor_yaml``), and
``--anchors`` / ``anchors=``: a YOLOv5-family config with YOLOv5's anchor-based head instead of the v5u head.

``anchor_cfg(cfg, folder, anchors=True)`` writes ``folder/<stem>-anchors.yaml``: the same backbone and neck, the
``Detect`` row as YOLOv5 writes it (``[nc, anchors]``) and YOLOv5's default anchors for the head's levels (P3-P5:
``hub/anchors.yaml`` P5-640; P3-P6: P6-640; any other level set, e.g. P2: ``anchors: 3``, computed by AutoAnchor),
or the anchors given as a list. A YOLOv5-format yaml (already anchor-based) is written the same way, so its run is
named ``...-anchors`` too and ultralytics' renaming of ``yolov5s6.yaml`` to ``yolov5s-p6`` does not apply.
"""

from __future__ import annotations

import copy
import re
from pathlib import Path

from yolo_attn.errors import UsageError
from yolo_attn.graph.rows import model_rows

__all__ = ("yolov5_format", "P5_ANCHORS", "P6_ANCHORS", "HEAD_NAMES", "is_anchor_row", "is_anchor_yaml", "default_anchors", "anchor_cfg",
           "load_model_dict", "is_yolov5_family")

P5_ANCHORS = [[10, 13, 16, 30, 33, 23], [30, 61, 62, 45, 59, 119], [116, 90, 156, 198, 373, 326]]
P6_ANCHORS = [[19, 27, 44, 40, 38, 94], [96, 68, 86, 152, 180, 137], [140, 301, 303, 264, 238, 542],
              [436, 615, 739, 380, 925, 792]]
SUFFIX = "-anchors"
HEAD_NAMES = ("Detect", "AnchorDetect")


def is_anchor_row(d: dict, row) -> bool:
    """Whether ``row`` of model dict ``d`` is YOLOv5's anchor-based head (``Detect, [nc, anchors]`` or ``AnchorDetect``)."""
    if not isinstance(row, (list, tuple)) or len(row) != 4 or row[2] not in HEAD_NAMES:
        return False
    args = row[3] or []
    if row[2] == "AnchorDetect":
        return True
    return len(args) >= 2 and (args[1] == "anchors" and "anchors" in d or isinstance(args[1], (list, int))
                               and not isinstance(args[1], bool))


def is_anchor_yaml(d) -> bool:
    """Whether the model dict's head is YOLOv5's anchor-based ``Detect, [nc, anchors]`` (or ``AnchorDetect``)."""
    return isinstance(d, dict) and any(is_anchor_row(d, r) for r in model_rows(d))


def load_model_dict(cfg) -> dict:
    """The model dict of ``cfg``: a file is read as it is (no P6 renaming), a name through ultralytics' lookup."""
    from ultralytics.nn.tasks import guess_model_scale, yaml_model_load
    from ultralytics.utils import YAML

    path = Path(str(cfg))
    if path.is_file():
        d = YAML.load(path)
        d["scale"] = guess_model_scale(path)
        d["yaml_file"] = str(path)
        return d
    return yaml_model_load(cfg)


def is_yolov5_family(cfg, d: dict) -> bool:
    """YOLOv5 (v5u or anchor-based) by name, or a yaml generated from one (``attn`` records name the base)."""
    names = [Path(str(cfg)).name, str(d.get("yaml_file", ""))]
    names += [str(r.get("base", "")) for r in (d.get("attn") if isinstance(d.get("attn"), list) else [d.get("attn") or {}])]
    return is_anchor_yaml(d) or any(re.match(r"yolov5", Path(n).name.lower()) for n in names if n)


def default_anchors(strides: list[int]):
    """YOLOv5's default anchors for these head strides, or 3 (computed from the data) when it has none."""
    if list(strides) == [8, 16, 32]:
        return copy.deepcopy(P5_ANCHORS)
    if list(strides) == [8, 16, 32, 64]:
        return copy.deepcopy(P6_ANCHORS)
    return 3


def _head_strides(d: dict) -> list[int]:
    from ultralytics.nn.tasks import DetectionModel

    return [int(s) for s in DetectionModel(copy.deepcopy(d), verbose=False).stride.tolist()]


def _check_given(anchors, nl: int, label: str):
    from yolo_attn.graph.yaml_guard import check_anchors

    if isinstance(anchors, int) and not isinstance(anchors, bool):
        return check_anchors(anchors, label)  # a count: 1..MAX_ANCHORS
    if isinstance(anchors, (list, tuple)) and len(anchors) == nl:  # the right shape: sizes and counts checked
        check_anchors(anchors, label, nl)
    ok = isinstance(anchors, (list, tuple)) and len(anchors) == nl and all(
        isinstance(r, (list, tuple)) and r and len(r) % 2 == 0 and len(r) == len(anchors[0]) for r in anchors)
    if not ok:
        raise UsageError(f"{label}: give one row of pixel (w, h) pairs per head level ({nl} levels), the same count "
                         f"in each, e.g. {P5_ANCHORS if nl == 3 else P6_ANCHORS if nl == 4 else '[[w, h, ...], ...]'}, "
                         f"or a count of anchors per level (3) to compute them from the data")
    return [list(r) for r in anchors]


def anchor_cfg(cfg, folder, anchors=True) -> Path:
    """Write ``cfg`` with YOLOv5's anchor head to ``folder/<stem>-anchors.yaml`` and return the path (module docstring).
    ``anchors``: True for YOLOv5's defaults (or the yaml's own, if it has them), a list per level, or a count."""
    from yolo_attn.graph.placement import write_model_yaml, write_once

    label = f"--anchors {'' if anchors is True else anchors}".rstrip() + f" --cfg {cfg}"
    d = load_model_dict(cfg)
    if not is_yolov5_family(cfg, d):
        raise UsageError(f"{label}: {Path(str(cfg)).name} is not a YOLOv5-family config; the anchor-based head is "
                         f"YOLOv5's (v6.0/v7.0). Use a yolov5 config (e.g. --cfg yolov5n.yaml --anchors), or drop "
                         f"--anchors for this model's own head")
    rows = d["head"]
    f, n, name, args = rows[-1]
    if name not in ("Detect", "AnchorDetect"):
        raise UsageError(f"{label}: the last layer is {name}, not Detect; --anchors replaces a detection head")
    nl = len(f) if isinstance(f, list) else 1
    if anchors is True:
        chosen = d.get("anchors") if is_anchor_yaml(d) else None
        chosen = default_anchors(_head_strides(d)) if chosen is None else chosen
    else:
        chosen = _check_given(anchors, nl, label)
    d["anchors"] = chosen
    rows[-1] = [f, n, "Detect", ["nc", "anchors"]]
    stem = re.sub(r"^(yolov5[nslmx])6$", r"\1-p6", Path(str(cfg)).stem)  # as ultralytics names P6 configs
    if not stem.endswith(SUFFIX):
        stem += SUFFIX
    d.pop("yaml_file", None)
    return write_once(d, Path(folder) / f"{stem}.yaml", write_model_yaml, UsageError)


def yolov5_format(d: dict, nc: int | None = None) -> dict:
    """An anchor-based model dict (ultralytics layout: ``scales`` + ``scale``) in YOLOv5's yaml format."""
    d = copy.deepcopy(dict(d))
    scales, scale = d.pop("scales", None), d.pop("scale", None)
    if scales:
        if scale not in scales:
            raise UsageError(f"model yaml: scale {scale!r} is not one of its scales {list(scales)}; set scale: n/s/m/l/x")
        depth, width, max_channels = scales[scale]
        d["depth_multiple"], d["width_multiple"] = depth, width
        widest = max((r[3][0] for r in model_rows(d) if r[3] and isinstance(r[3][0], int)), default=0)
        if widest * width > max_channels:  # YOLOv5 has no channel cap: the models would differ
            raise UsageError(f"model yaml: scale {scale} caps channels at {max_channels} (ultralytics), YOLOv5 does "
                             f"not ({widest} x {width}); this model has no YOLOv5 counterpart")
    f, n, name, _ = d["head"][-1]
    if name not in ("Detect", "AnchorDetect") or "anchors" not in d:
        raise UsageError("model: not YOLOv5's anchor-based head (no anchors); export-ckpt is for --anchors models")
    d["head"][-1] = [f, n, "Detect", ["nc", "anchors"]]
    if nc is not None:
        d["nc"] = nc
    for k in ("yaml_file", "ch", "hyp"):
        d.pop(k, None)
    return d

"""An anchor-based model dict in YOLOv5's own yaml format (``depth_multiple``/``width_multiple``, ``Detect, [nc,
anchors]``), for YOLOv5's ``Model``: ``python -m yolo_attn.yolov5 export-ckpt`` and the runner's shipped configs."""

from __future__ import annotations

import copy

from yolo_attn.errors import UsageError

__all__ = ("yolov5_format",)


def yolov5_format(d: dict, nc: int | None = None) -> dict:
    """An anchor-based model dict (ultralytics layout: ``scales`` + ``scale``) in YOLOv5's yaml format."""
    d = copy.deepcopy(dict(d))
    scales, scale = d.pop("scales", None), d.pop("scale", None)
    if scales:
        if scale not in scales:
            raise UsageError(f"model yaml: scale {scale!r} is not one of its scales {list(scales)}; set scale: n/s/m/l/x")
        depth, width, max_channels = scales[scale]
        d["depth_multiple"], d["width_multiple"] = depth, width
        widest = max((r[3][0] for r in d["backbone"] + d["head"] if r[3] and isinstance(r[3][0], int)), default=0)
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

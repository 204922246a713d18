"""An anchor-based model dict in YOLOv5's own yaml format (``depth_multiple``/``width_multiple``, ``Detect, [nc,
anchors]``), for YOLOv5's ``Model``: ``python -m yolo_attn.yolov5 export-ckpt`` and the runner's shipped configs."""

from __future__ import annotations

import copy
from pathlib import Path

from yolo_attn.errors import UsageError

__all__ = ("yolov5_format", "shipped_cfg_for_yolov5")


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


def shipped_cfg_for_yolov5(name: str, folder) -> Path | None:
    """A yolo_attn config name YOLOv5 cannot find (``yolov5s-ema.yaml``: not a file, not in the clone's ``models/``)
    written in YOLOv5's format to ``folder/<name>`` (anchor-based head, YOLOv5's default anchors); its path, or None
    when ``name`` is a file, the clone's own config or no yolo_attn config."""

    import yaml

    from yolo_attn.graph.anchors import anchor_cfg, load_model_dict
    from yolo_attn.engine.configs import known_configs

    if Path(name).is_file() or list(Path("models").rglob(Path(name).name)) or Path(name).name not in known_configs():
        return None
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    d = load_model_dict(anchor_cfg(Path(name).name, folder))
    d["scale"] = d.get("scale") or load_model_dict(Path(name).name).get("scale")
    out = folder / Path(name).name
    d = yolov5_format(d, nc=d.get("nc", 80))
    rows = {k: d.pop(k) for k in ("backbone", "head")}
    text = f"# {Path(name).name}: yolo_attn's shipped config in YOLOv5's format (python -m yolo_attn.yolov5)\n"
    text += yaml.safe_dump(d, sort_keys=False, default_flow_style=None)
    for k, rs in rows.items():  # one row a line, as YOLOv5's own yamls
        text += f"{k}:\n" + "".join(f"  - {yaml.safe_dump(r, default_flow_style=True, width=1000).strip()}\n" for r in rs)
    out.write_text(text)
    return out

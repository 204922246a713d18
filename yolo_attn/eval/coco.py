"""pycocotools COCOeval on detections from ultralytics' validator (its ``predictions.json`` entries).

Detections are dicts ``{"file_name", "cls", "bbox": [x, y, w, h] pixels, "score"}``; they are matched to the ground
truth json by image file name and by class name (falling back to the json's categories sorted by id, the order
``yolo_attn.data.coco`` writes), so any COCO-format set works, not only COCO 2017's ids.
"""

from __future__ import annotations

import contextlib
import copy
import io
import json
from pathlib import Path

import numpy as np

__all__ = ("coco_eval", "summary_lines", "STAT_NAMES")

STAT_NAMES = (
    "AP@[.50:.95]", "AP@.50", "AP@.75", "AP small", "AP medium", "AP large",
    "AR@1", "AR@10", "AR@100", "AR small", "AR medium", "AR large",
)


def _category_ids(categories: list[dict], names: dict) -> dict[int, int]:
    """Class index -> json category id, by name when every name matches, else by sorted id order."""
    by_name = {c["name"]: c["id"] for c in categories}
    if all(n in by_name for n in names.values()):
        return {i: by_name[n] for i, n in names.items()}
    ids = sorted(c["id"] for c in categories)
    if len(ids) != len(names):
        raise ValueError(f"the ground truth has {len(ids)} categories but the model has {len(names)} classes")
    return dict(zip(sorted(names), ids))


def coco_eval(gt, detections: list[dict], names: dict, max_dets=(1, 10, 100), verbose: bool = True) -> dict:
    """Run COCOeval (bbox) and return ``{"stats": [12 floats], "map50_95", "map50", "precision": array}``.

    gt: path of a COCO instances json, or the loaded dict. ``names``: class index -> name (the model's).
    ``max_dets``: detections per image considered; AP/AR here are read at the largest value.
    """
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    gt = json.loads(Path(gt).read_text()) if isinstance(gt, (str, Path)) else copy.deepcopy(gt)
    gt.setdefault("info", {})
    gt.setdefault("licenses", [])
    for a in gt["annotations"]:  # pycocotools needs area and iscrowd
        a.setdefault("iscrowd", 0)
        a.setdefault("area", a["bbox"][2] * a["bbox"][3])
    image_id = {Path(im["file_name"]).name: im["id"] for im in gt["images"]}
    cat_id = _category_ids(gt["categories"], names)
    dets = []
    for d in detections:
        name = Path(d["file_name"]).name
        if name not in image_id:
            raise ValueError(f"prediction for {name}, an image the ground truth json does not list")
        dets.append({"image_id": image_id[name], "category_id": cat_id[int(d["cls"])], "bbox": d["bbox"], "score": d["score"]})
    with contextlib.redirect_stdout(io.StringIO()):  # pycocotools prints progress lines
        coco_gt = COCO()
        coco_gt.dataset = gt
        coco_gt.createIndex()
        coco_dt = coco_gt.loadRes(dets) if dets else COCO()
        ev = COCOeval(coco_gt, coco_dt, "bbox")
        ev.params.maxDets = list(max_dets)
        if dets:
            ev.evaluate()
            ev.accumulate()
    if not dets:
        return {"stats": [0.0] * 12, "map50_95": 0.0, "map50": 0.0, "precision": None}
    stats = _stats(ev)
    return {"stats": stats, "map50_95": stats[0], "map50": stats[1], "precision": ev.eval["precision"]}


def _mean(x: np.ndarray) -> float:
    x = x[x > -1]
    return float(x.mean()) if x.size else -1.0


def _stats(ev) -> list[float]:
    """COCOeval.summarize's 12 numbers, AP at the largest maxDets (summarize hard-codes 100), AR at each."""
    p, e = ev.params, ev.eval
    prec, rec = e["precision"], e["recall"]  # (T, R, K, A, M), (T, K, A, M)
    iou = list(np.round(p.iouThrs, 2))
    a = {k: i for i, k in enumerate(p.areaRngLbl)}
    m = len(p.maxDets) - 1
    ap = lambda t=None, area="all": _mean(prec[[iou.index(t)] if t else slice(None), :, :, a[area], m])  # noqa: E731
    ar = lambda area="all", mi=m: _mean(rec[:, :, a[area], mi])  # noqa: E731
    last3 = [min(i, m) for i in (m - 2, m - 1, m)] if m >= 2 else [m] * 3
    return [ap(), ap(0.5), ap(0.75), ap(area="small"), ap(area="medium"), ap(area="large"),
            ar(mi=last3[0]), ar(mi=last3[1]), ar(mi=last3[2]), ar("small"), ar("medium"), ar("large")]


def summary_lines(stats: list[float], max_dets=(1, 10, 100)) -> list[str]:
    """COCOeval-style lines for printing."""
    names = list(STAT_NAMES)
    md = list(max_dets)[-3:] if len(max_dets) >= 3 else list(max_dets) * 3
    names[6:9] = [f"AR@{k}" for k in md]
    names[:6] = [n + f" (maxDets {max_dets[-1]})" for n in names[:6]]
    return [f"  {n:<32} {s:6.3f}" for n, s in zip(names, stats)]

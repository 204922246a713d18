"""VisDrone-DET evaluation that honours ignored regions (the official toolkit's protocol, in pycocotools).

Detections, and ground-truth boxes, with more than half their area inside an ignored region of their image
(category 0, score-0 and "others" boxes, as ``yolo_attn.data.visdrone`` writes them to ``ignore/{split}/NAME.txt``)
are dropped before matching, as the toolkit's ``dropObjectsInIgr`` does, so they count neither as true nor as
false positives; the rest is COCO AP with up to 500 detections per
image, as in the VisDrone toolkit. The plain figure, without that filter, is returned beside it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from yolo_attn.eval.coco import coco_eval

__all__ = ("MAX_DETS", "check_boxes_file", "check_ignore_folder", "drop_in_ignored", "yolo_ground_truth", "visdrone_eval")

MAX_DETS = (1, 10, 100, 500)


def _read_boxes(f: Path) -> np.ndarray:
    rows = [line.split() for line in f.read_text().splitlines() if line.strip()] if f.is_file() else []
    return np.array(rows, dtype=np.float64).reshape(-1, len(rows[0]) if rows else 4)


def check_boxes_file(f: Path, columns: int = 4) -> None:
    """Raise ``ValueError`` naming ``f`` and the line unless every line holds the same number (>= ``columns``) of
    numbers: what ``_read_boxes`` can read (an ignore file is ``x1 y1 x2 y2`` per line)."""
    width = None
    for k, line in enumerate(Path(f).read_text(errors="replace").splitlines(), 1):
        parts = line.split()
        if not parts:
            continue
        try:
            values = [float(x) for x in parts]
        except ValueError:
            raise ValueError(f"{f}:{k}: {line.strip()[:60]!r} is not numbers; an ignore file holds 'x1 y1 x2 y2' "
                             f"pixels per line (python -m yolo_attn.data.visdrone writes them)") from None
        if len(values) < columns or (width is not None and len(values) != width) or not np.isfinite(values).all():
            raise ValueError(f"{f}:{k}: {len(values)} numbers, expected {width or columns} on every line "
                             f"('x1 y1 x2 y2' pixels)")
        width = len(values)


def check_ignore_folder(image_dirs, ignore_folder: str = "ignore") -> int:
    """Check every ignore file of the split whose images are in ``image_dirs`` (folders ``.../images/{split}``), before
    an evaluation writes anything; return how many were checked. ``ValueError`` names the bad file and line."""
    n = 0
    for d in map(Path, image_dirs):
        if not d.is_dir() or "images" not in d.parts:
            continue
        folder = _sibling(d / "x", ignore_folder).parent
        for f in sorted(folder.rglob("*.txt")) if folder.is_dir() else []:
            check_boxes_file(f)
            n += 1
    return n


def drop_in_ignored(detections: list[dict], ignored: np.ndarray, width: int, height: int, frac: float = 0.5) -> list[dict]:
    """Detections of one image whose area lies more than ``frac`` inside the union of ``ignored`` (N, 4) x1y1x2y2."""
    if not len(ignored) or not detections:
        return list(detections)
    mask = np.zeros((height + 1, width + 1), np.int64)  # integral image of the ignored-region mask
    region = np.zeros((height, width), np.int64)
    for x1, y1, x2, y2 in ignored.astype(int):
        region[max(y1, 0):y2, max(x1, 0):x2] = 1
    mask[1:, 1:] = region.cumsum(0).cumsum(1)
    kept = []
    for d in detections:
        x, y, w, h = d["bbox"]
        x1, y1 = int(np.clip(round(x), 0, width)), int(np.clip(round(y), 0, height))
        x2, y2 = int(np.clip(round(x + w), 0, width)), int(np.clip(round(y + h), 0, height))
        area = max((x2 - x1) * (y2 - y1), 1)
        inside = mask[y2, x2] - mask[y1, x2] - mask[y2, x1] + mask[y1, x1]
        if inside / area <= frac:
            kept.append(d)
    return kept


def yolo_ground_truth(image_files, names: dict) -> dict:
    """COCO-format ground truth (dict) from the YOLO labels beside ``images/`` (``labels/`` sibling folder)."""
    images, annotations = [], []
    for i, f in enumerate(map(Path, image_files)):
        with Image.open(f) as im:
            w, h = im.size
        images.append({"id": i, "file_name": f.name, "width": w, "height": h})
        label = _sibling(f, "labels")
        for cls, cx, cy, bw, bh in _read_boxes(label)[:, :5]:
            box = [(cx - bw / 2) * w, (cy - bh / 2) * h, bw * w, bh * h]
            annotations.append({"id": len(annotations) + 1, "image_id": i, "category_id": int(cls) + 1, "bbox": box,
                                "area": box[2] * box[3], "iscrowd": 0})
    categories = [{"id": k + 1, "name": n} for k, n in sorted(names.items())]
    return {"images": images, "annotations": annotations, "categories": categories}


def _sibling(f: Path, folder: str, suffix: str = ".txt") -> Path:
    """``.../images/split/a.jpg`` -> ``.../{folder}/split/a.txt`` (the YOLO layout's rule for labels)."""
    parts = list(f.parts)
    k = len(parts) - 1 - parts[::-1].index("images")
    parts[k] = folder
    return Path(*parts).with_suffix(suffix)


def visdrone_eval(image_files, detections: list[dict], names: dict, ignore_folder: str = "ignore", verbose=False) -> dict:
    """Return ``{"plain", "ignore"}`` (coco_eval results) and ``dropped`` / ``dropped_gt`` counts for one split.

    ``image_files``: the split's images (``.../images/{split}/NAME.jpg``); ignored regions are read from
    ``.../{ignore_folder}/{split}/NAME.txt``. ``detections``: dicts with file_name, cls, bbox (xywh pixels), score.
    """
    files = [Path(f) for f in image_files]
    gt = yolo_ground_truth(files, names)
    size = {im["file_name"]: (im["width"], im["height"]) for im in gt["images"]}
    per_image = {}
    for d in detections:
        per_image.setdefault(Path(d["file_name"]).name, []).append(d)
    gt_per_image = {}
    for a in gt["annotations"]:
        gt_per_image.setdefault(a["image_id"], []).append(a)
    kept, gt_kept = [], []
    for im, f in zip(gt["images"], files):
        w, h = size[f.name]
        ignored = _read_boxes(_sibling(f, ignore_folder))[:, :4]
        kept += drop_in_ignored(per_image.get(f.name, []), ignored, w, h)
        gt_kept += drop_in_ignored(gt_per_image.get(im["id"], []), ignored, w, h)  # the toolkit drops both
    plain = coco_eval(gt, detections, names, max_dets=MAX_DETS)
    ignore = coco_eval(dict(gt, annotations=gt_kept), kept, names, max_dets=MAX_DETS)
    return {"plain": plain, "ignore": ignore, "dropped": len(detections) - len(kept),
            "dropped_gt": len(gt["annotations"]) - len(gt_kept)}

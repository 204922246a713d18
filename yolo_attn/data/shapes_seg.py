"""Segmentation variant of the embedded shapes set: the same kind of images, labelled with the shapes' outlines.

``make_seg_dataset(root)`` writes an ultralytics segmentation set::

    root/images/{train,val}/000000.png   RGB, imgsz x imgsz (backgrounds and shapes drawn by yolo_attn.data.synthetic)
    root/labels/{train,val}/000000.txt   "cls x1 y1 x2 y2 ..." polygon of each shape's outline, normalised 0-1
    root/shapes-seg.yaml                 ultralytics dataset yaml (path, train, val, names)

Each shape is drawn twice with the same colour jitter: on the image and on a blank mask; the mask's outer contour
(OpenCV ``findContours``) is the polygon. Deterministic in (n_train, n_val, imgsz, seed).

Command line: ``python -m yolo_attn.data.shapes_seg ROOT [--n-train 400 --n-val 100 --imgsz 128]`` prints the yaml.
"""

from __future__ import annotations

import copy
from pathlib import Path

import cv2
import numpy as np
import yaml

from yolo_attn.data.synthetic import NAMES, _background, _draw

__all__ = ("make_seg_dataset", "outline")

_YAML_NAME = "shapes-seg.yaml"


def outline(mask: np.ndarray) -> np.ndarray:
    """Outer contour of the largest blob of a binary mask (H, W) as a polygon (N, 2) of pixel (x, y), N >= 3."""
    contours, _ = cv2.findContours(mask.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    if not contours:
        raise ValueError("outline: the mask is empty")
    c = max(contours, key=cv2.contourArea)
    c = cv2.approxPolyDP(c, 0.7, True)[:, 0, :]  # drop the anti-aliasing stair steps (< 1 px off the outline)
    return c if len(c) >= 3 else cv2.boxPoints(cv2.minAreaRect(c)).astype(np.int32)


def _sample(rng: np.random.RandomState, s: int) -> tuple[np.ndarray, list[str]]:
    """One image and its segmentation label lines (placement as in ``synthetic._sample``)."""
    img = _background(rng, s)
    boxes, lines = [], []
    for _ in range(rng.randint(1, 5)):
        for _try in range(20):  # rejection sampling for non-overlapping squares
            size = int(rng.randint(s // 7, s // 3))
            x0, y0 = (int(v) for v in rng.randint(0, s - size, 2))
            if all(x0 + size < a or a2 < x0 or y0 + size < b or b2 < y0 for a, b, a2, b2 in boxes):
                break
        else:
            continue
        cls = int(rng.randint(len(NAMES)))
        mask = np.zeros((s, s, 3), np.uint8)
        _draw(mask, cls, x0, y0, size, copy.deepcopy(rng))  # same jitter draws, so the same pixels
        _draw(img, cls, x0, y0, size, rng)
        boxes.append((x0 - 2, y0 - 2, x0 + size + 2, y0 + size + 2))
        poly = outline(mask.max(2) > 0) / s
        lines.append(f"{cls} " + " ".join(f"{v:.6f}" for v in np.clip(poly, 0, 1).ravel()))
    return img, lines


def make_seg_dataset(root, n_train: int = 400, n_val: int = 100, imgsz: int = 128, seed: int = 0) -> Path:
    """Write the shapes segmentation set under ``root`` and return the path of its dataset yaml.

    Writes nothing if ``root`` already holds a complete set with these settings (its yaml is written last).
    """
    for k, v in (("n_train", n_train), ("n_val", n_val), ("imgsz", imgsz)):
        if not isinstance(v, int) or v < 1:
            raise ValueError(f"make_seg_dataset: {k} must be a positive integer, got {v!r}")
    if imgsz < 32:
        raise ValueError(f"make_seg_dataset: imgsz {imgsz} is too small for the shapes; use 32 or more (e.g. 128)")
    root = Path(root).resolve()
    yaml_file = root / _YAML_NAME
    spec = dict(n_train=n_train, n_val=n_val, imgsz=imgsz, seed=seed, task="segment")
    if yaml_file.is_file() and (yaml.safe_load(yaml_file.read_text()) or {}).get("generator") == spec:
        return yaml_file
    for split_id, (split, n) in enumerate((("train", n_train), ("val", n_val))):
        (root / "images" / split).mkdir(parents=True, exist_ok=True)
        (root / "labels" / split).mkdir(parents=True, exist_ok=True)
        rng = np.random.RandomState([seed, split_id])
        for i in range(n):
            img, lines = _sample(rng, imgsz)
            cv2.imwrite(str(root / "images" / split / f"{i:06d}.png"), img)
            (root / "labels" / split / f"{i:06d}.txt").write_text("".join(x + "\n" for x in lines))
    data = {"path": str(root), "train": "images/train", "val": "images/val", "names": dict(enumerate(NAMES)),
            "generator": spec}
    tmp = yaml_file.with_suffix(".tmp")
    tmp.write_text("# yolo_attn shapes segmentation set (yolo_attn.data.shapes_seg.make_seg_dataset)\n"
                   + yaml.safe_dump(data, sort_keys=False))
    tmp.replace(yaml_file)
    return yaml_file


if __name__ == "__main__":
    import argparse

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("root")
    p.add_argument("--n-train", type=int, default=400)
    p.add_argument("--n-val", type=int, default=100)
    p.add_argument("--imgsz", type=int, default=128)
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args()
    print(make_seg_dataset(a.root, a.n_train, a.n_val, a.imgsz, a.seed))

"""Segmentation variant of the embedded shapes set: the same kind of images, labelled with the shapes' outlines.

``make_seg_dataset(root)`` writes an ultralytics segmentation set::

    root/images/{train,val}/000000.png   RGB, imgsz x imgsz (backgrounds and shapes drawn by yolo_attn.data.synthetic)
    root/labels/{train,val}/000000.txt   "cls x1 y1 x2 y2 ..." polygon of each shape's outline, normalised 0-1
    root/shapes-seg.yaml                 ultralytics dataset yaml (path, train, val, names)

Each shape is drawn twice with the same colour jitter: on the image and on a blank mask; the mask's outer contour
(OpenCV ``findContours``) is the polygon. Deterministic in (n_train, n_val, imgsz, seed).

Command line: ``python -m yolo_attn.data.shapes_seg ROOT [--n-train 400 --n-val 100 --imgsz 128]`` prints the images and
polygons written per split and the dataset yaml.
"""

from __future__ import annotations

import copy
import os
import sys
from pathlib import Path

import cv2
import numpy as np
import yaml

from yolo_attn.data.synthetic import DEFAULTS, NAMES, _background, _draw, placements, write_set

__all__ = ("make_seg_dataset", "outline", "default_seg_root", "default_seg_dataset")

_YAML_NAME = "shapes-seg.yaml"


def default_seg_root() -> Path:
    """``$YOLO_ATTN_DATASETS/shapes-seg-...`` or ``~/.cache/yolo_attn/shapes-seg-...`` (the name spells the settings)."""
    base = os.getenv("YOLO_ATTN_DATASETS") or Path.home() / ".cache" / "yolo_attn"
    d = DEFAULTS
    return Path(base) / f"shapes-seg-{d['n_train']}x{d['n_val']}-{d['imgsz']}px-seed{d['seed']}"


def default_seg_dataset() -> Path:
    """Path of the embedded segmentation set's yaml (``--data shapes-seg``), generating the set on first use."""
    return make_seg_dataset(default_seg_root(), **DEFAULTS)


def outline(mask: np.ndarray) -> np.ndarray:
    """Outer contour of the largest blob of a binary mask (H, W) as a polygon (N, 2) of pixel (x, y), N >= 3."""
    contours, _ = cv2.findContours(mask.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    if not contours:
        raise ValueError("outline: the mask is empty")
    c = max(contours, key=cv2.contourArea)
    c = cv2.approxPolyDP(c, 0.7, True)[:, 0, :]  # drop the anti-aliasing stair steps (< 1 px off the outline)
    return c if len(c) >= 3 else cv2.boxPoints(cv2.minAreaRect(c)).astype(np.int32)


def _sample(rng: np.random.RandomState, s: int) -> tuple[np.ndarray, list[str]]:
    """One image and its segmentation label lines (the same placements and pixels as ``synthetic._sample``)."""
    img = _background(rng, s)
    lines = []
    for cls, x0, y0, size in placements(rng, s):
        mask = np.zeros((s, s, 3), np.uint8)
        _draw(mask, cls, x0, y0, size, copy.deepcopy(rng))  # same jitter draws, so the same pixels
        _draw(img, cls, x0, y0, size, rng)
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
    return write_set(root, yaml_file, spec, NAMES, _sample, lambda split_id: [seed, split_id],
                     "yolo_attn shapes segmentation set (yolo_attn.data.shapes_seg.make_seg_dataset)")


def main(argv=None) -> int:
    """``python -m yolo_attn.data.shapes_seg ROOT``: write the set and say what was written, as the converters do."""
    import argparse

    p = argparse.ArgumentParser(prog="python -m yolo_attn.data.shapes_seg", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("root")
    p.add_argument("--n-train", type=int, default=400)
    p.add_argument("--n-val", type=int, default=100)
    p.add_argument("--imgsz", type=int, default=128)
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args(argv)
    try:
        yaml_file = make_seg_dataset(a.root, a.n_train, a.n_val, a.imgsz, a.seed)
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    root = yaml_file.parent
    for split in ("train", "val"):
        labels = sorted((root / "labels" / split).glob("*.txt"))
        n_poly = sum(len(f.read_text().splitlines()) for f in labels)
        print(f"{split}: {len(labels)} images, {n_poly} polygons -> {root / 'images' / split}, {root / 'labels' / split}")
    print(f"dataset yaml: {yaml_file}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

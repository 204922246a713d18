"""Harder embedded set for ablation grids: small, crowded, partly occluded shapes among clutter (VisDrone-like).

The demo set (``yolo_attn.data.synthetic``) saturates: every model reaches mAP50 0.995, so every Δ between attention
modules is zero. This variant keeps the same deterministic, generated-on-first-use design but makes detection hard
in the ways aerial sets are hard:

- small objects: 12-36 px on a 128 px image (the demo set's are 18-42 px);
- crowded: 2-9 objects per image, in clusters, allowed to overlap (occlusion: a later object may cover up to
  ``MAX_COVER`` of an earlier one's box);
- eight classes, filled and hollow twins (circle/ring, square/frame, triangle/outline, cross/diamond), each with a
  hue of its own jittered to touch its neighbours', so colour narrows the class down and the shape decides;
- clutter: unlabelled distractors (blobs, strokes, polygons, some in the classes' hues) on a textured background.

``make_hard_dataset(root)`` writes ``root/shapes_hard.yaml`` and the YOLO layout; the same arguments always give
byte-identical files. ``default_hard_dataset()`` is the grid's default data (``ablate_attn.py`` without ``--data``, or
``--data shapes-hard``), under ``$YOLO_ATTN_DATASETS`` or ``~/.cache/yolo_attn``.
"""

from __future__ import annotations

import os
from pathlib import Path

import cv2
import numpy as np

from yolo_attn.data.synthetic import _background, _complete, write_set

__all__ = ("HARD_NAMES", "HARD_DEFAULTS", "HARD_ALIAS", "MAX_COVER", "make_hard_dataset", "default_hard_dataset",
           "default_hard_root")

HARD_NAMES = ("circle", "ring", "square", "frame", "triangle", "triangle_outline", "cross", "diamond")
HARD_DEFAULTS = dict(n_train=400, n_val=100, imgsz=128, seed=0)
VERSION = 1  # of the generator: part of the folder name and the spec, so a changed generator never meets a stale set
HARD_ALIAS = "shapes-hard"  # --data value that selects this set
MAX_COVER = 0.3  # largest fraction of an earlier object's box that a later one may cover (partial occlusion)
_YAML_NAME = "shapes_hard.yaml"
_SIZE = (12, 37)  # object side in pixels at imgsz 128 (scaled with imgsz), half-open
_N_OBJECTS = (2, 10)  # objects per image, half-open


def default_hard_root() -> Path:
    """``$YOLO_ATTN_DATASETS/shapes-hard-...`` or ``~/.cache/yolo_attn/shapes-hard-...`` (name spells the settings)."""
    base = os.getenv("YOLO_ATTN_DATASETS") or Path.home() / ".cache" / "yolo_attn"
    d = HARD_DEFAULTS
    return Path(base) / f"shapes-hard-v{VERSION}-{d['n_train']}x{d['n_val']}-{d['imgsz']}px-seed{d['seed']}"


def default_hard_dataset() -> Path:
    """Path of the default hard dataset yaml, generating the set on first use."""
    return make_hard_dataset(default_hard_root(), **HARD_DEFAULTS)


_HUES = (0, 22, 45, 67, 90, 112, 135, 157)  # OpenCV hue (0-180) of each class: neighbours a jitter apart


def _color(rng: np.random.RandomState, cls: int | None = None) -> tuple:
    """A saturated BGR colour: around the class's hue (jittered ±8 over 22-wide steps, so neighbouring classes, a
    filled shape and its hollow twin, come close in colour and the shape must decide), or any hue for clutter
    (distractors in the classes' colours)."""
    h = rng.randint(0, 180) if cls is None else (_HUES[cls] + rng.randint(-8, 9)) % 180
    hsv = np.uint8([[[h, rng.randint(120, 256), rng.randint(110, 256)]]])
    return tuple(int(v) for v in cv2.cvtColor(hsv, cv2.COLOR_HSV2BGR)[0, 0])


def _draw(img: np.ndarray, cls: int, x0: int, y0: int, size: int, color: tuple) -> None:
    """Draw class ``cls`` filling the square (x0, y0, size); every shape touches all four sides of that square."""
    x2, y2, c = x0 + size - 1, y0 + size - 1, x0 + size // 2
    t = max(1, size // 5)  # outline thickness
    if cls in (0, 1):  # circle / ring
        r = size // 2
        cv2.circle(img, (x0 + r, y0 + r), r if cls == 0 else max(r - t // 2, 1), color, -1 if cls == 0 else t, cv2.LINE_AA)
    elif cls in (2, 3):  # square / frame
        cv2.rectangle(img, (x0, y0), (x2, y2), color, -1 if cls == 2 else t)
    elif cls in (4, 5):  # triangle / outline
        pts = np.array([[c, y0], [x0, y2], [x2, y2]], np.int32)
        if cls == 4:
            cv2.fillPoly(img, [pts], color, cv2.LINE_AA)
        else:
            cv2.polylines(img, [pts], True, color, t, cv2.LINE_AA)
    elif cls == 7:  # diamond
        cy = y0 + size // 2
        cv2.fillPoly(img, [np.array([[c, y0], [x2, cy], [c, y2], [x0, cy]], np.int32)], color, cv2.LINE_AA)
    else:  # cross
        b = max(size // 3, 2)
        cv2.rectangle(img, (x0 + (size - b) // 2, y0), (x0 + (size + b) // 2, y2), color, -1)
        cv2.rectangle(img, (x0, y0 + (size - b) // 2), (x2, y0 + (size + b) // 2), color, -1)


def _clutter(img: np.ndarray, rng: np.random.RandomState, s: int, k: float) -> None:
    """Unlabelled distractors: coloured strokes, blurred blobs and grey polygons of no class."""
    for _ in range(rng.randint(2, 7)):
        kind = rng.randint(3)
        col = _color(rng) if rng.rand() < 0.6 else (int(rng.randint(30, 230)),) * 3
        if kind == 0:  # stroke
            p1, p2 = rng.randint(0, s, 2), rng.randint(0, s, 2)
            cv2.line(img, tuple(int(v) for v in p1), tuple(int(v) for v in p2), col, int(rng.randint(1, 3)), cv2.LINE_AA)
        elif kind == 1:  # ellipse blob
            ax = (int(rng.randint(2, 8) * k), int(rng.randint(2, 8) * k))
            cv2.ellipse(img, tuple(int(v) for v in rng.randint(0, s, 2)), ax, int(rng.randint(180)), 0, 360, col, -1)
        else:  # irregular polygon
            ctr = rng.randint(0, s, 2)
            pts = (ctr + rng.randint(-int(9 * k), int(9 * k) + 1, (int(rng.randint(4, 7)), 2))).astype(np.int32)
            cv2.fillPoly(img, [pts], col, cv2.LINE_AA)


def _sample(rng: np.random.RandomState, s: int) -> tuple[np.ndarray, list[str]]:
    """One image and its YOLO label lines."""
    k = s / 128
    img = _background(rng, s)
    _clutter(img, rng, s, k)
    lo, hi = max(int(_SIZE[0] * k), 3), max(int(_SIZE[1] * k), 5)
    centres = rng.randint(hi, s - hi, (int(rng.randint(1, 4)), 2))  # objects crowd around 1-3 cluster centres
    boxes, lines = [], []
    for _ in range(rng.randint(*_N_OBJECTS)):
        for _try in range(15):
            size = int(rng.randint(lo, hi))
            cx, cy = centres[rng.randint(len(centres))] + rng.normal(0, s / 6, 2)
            x0, y0 = int(np.clip(cx - size / 2, 0, s - size)), int(np.clip(cy - size / 2, 0, s - size))
            box = (x0, y0, x0 + size, y0 + size)
            if all(_cover(b, box) <= MAX_COVER for b in boxes):  # earlier objects stay mostly visible
                break
        else:
            continue
        cls = int(rng.randint(len(HARD_NAMES)))
        _draw(img, cls, x0, y0, size, _color(rng, cls))
        boxes.append(box)
        lines.append(f"{cls} {(x0 + size / 2) / s:.6f} {(y0 + size / 2) / s:.6f} {size / s:.6f} {size / s:.6f}")
    img = cv2.GaussianBlur(img, (3, 3), 0.6)  # slight defocus, as in aerial footage
    return img, lines


def _cover(a: tuple, b: tuple) -> float:
    """Fraction of box ``a`` (x1, y1, x2, y2) covered by box ``b``."""
    w = max(0, min(a[2], b[2]) - max(a[0], b[0]))
    h = max(0, min(a[3], b[3]) - max(a[1], b[1]))
    return w * h / ((a[2] - a[0]) * (a[3] - a[1]))


def make_hard_dataset(root, n_train: int = 400, n_val: int = 100, imgsz: int = 128, seed: int = 0) -> Path:
    """Write the hard shapes set under ``root``; return the path of its dataset yaml (``shapes_hard.yaml``).

    Deterministic in (n_train, n_val, imgsz, seed); writes nothing if ``root`` already holds the complete set.
    """
    for key, v in (("n_train", n_train), ("n_val", n_val), ("imgsz", imgsz)):
        if not isinstance(v, int) or v < 1:
            raise ValueError(f"make_hard_dataset: {key} must be a positive integer, got {v!r}")
    if imgsz < 64:
        raise ValueError(f"make_hard_dataset: imgsz {imgsz} is too small for crowds of small objects; use 64 or more")
    root = Path(root).resolve()
    yaml_file = root / _YAML_NAME
    spec = dict(kind="hard", version=VERSION, n_train=n_train, n_val=n_val, imgsz=imgsz, seed=seed)
    if _complete(root, yaml_file, spec):
        return yaml_file
    return write_set(root, yaml_file, spec, HARD_NAMES, _sample, lambda split_id: [seed, split_id, 7],  # 7: a stream
                     "yolo_attn hard shapes set (yolo_attn.data.shapes_hard.make_hard_dataset)")  # apart from the demo's

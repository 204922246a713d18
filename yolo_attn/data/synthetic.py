"""Embedded demo dataset: coloured shapes on textured backgrounds, generated deterministically (no download).

``make_dataset(root)`` writes a small YOLO-format detection set::

    root/images/{train,val}/000000.png   RGB, imgsz x imgsz
    root/labels/{train,val}/000000.txt   "cls cx cy w h" normalised, one line per shape
    root/shapes.yaml                     ultralytics dataset yaml (path, train, val, names)

Each image holds 1-4 non-overlapping shapes of four classes (circle, square, triangle, cross), each class with its
own hue, on a background of smooth grey noise and random grey lines: easy enough that a YOLOv5n from scratch
reaches a high mAP50 within minutes on a CPU, hard enough that the detector has to learn shape and colour.
The same arguments always give byte-identical files (numpy ``RandomState`` + OpenCV drawing, PNG output).
"""

from __future__ import annotations

import os
from pathlib import Path

import cv2
import numpy as np
import yaml

__all__ = ("NAMES", "DEFAULTS", "make_dataset", "default_dataset", "default_root")

NAMES = ("circle", "square", "triangle", "cross")
_COLORS = ((40, 40, 220), (40, 200, 40), (220, 80, 30), (30, 210, 230))  # BGR: red, green, blue, yellow
DEFAULTS = dict(n_train=400, n_val=100, imgsz=128, seed=0)  # the embedded default set (train_attn.py without --data)
_YAML_NAME = "shapes.yaml"


def default_root() -> Path:
    """Where the default set lives: ``$YOLO_ATTN_DATASETS/shapes-...`` or ``~/.cache/yolo_attn/shapes-...``.

    The folder name spells the generator settings, so changing ``DEFAULTS`` never meets a stale set.
    """
    base = os.getenv("YOLO_ATTN_DATASETS") or Path.home() / ".cache" / "yolo_attn"
    d = DEFAULTS
    return Path(base) / f"shapes-{d['n_train']}x{d['n_val']}-{d['imgsz']}px-seed{d['seed']}"


def default_dataset() -> Path:
    """Path of the default dataset yaml, generating the set on first use."""
    return make_dataset(default_root(), **DEFAULTS)


def _background(rng: np.random.RandomState, s: int) -> np.ndarray:
    """Textured grey background, (s, s, 3) uint8: upsampled coarse noise plus a few thin grey lines."""
    coarse = rng.randint(60, 190, size=(8, 8)).astype(np.float32)
    img = cv2.resize(coarse, (s, s), interpolation=cv2.INTER_CUBIC)
    img += rng.normal(0, 8, size=(s, s)).astype(np.float32)  # fine grain
    img = np.clip(img, 0, 255).astype(np.uint8)
    img = cv2.cvtColor(img, cv2.COLOR_GRAY2BGR)
    for _ in range(rng.randint(2, 6)):
        p1, p2 = tuple(int(v) for v in rng.randint(0, s, 2)), tuple(int(v) for v in rng.randint(0, s, 2))
        g = int(rng.randint(40, 220))
        cv2.line(img, p1, p2, (g, g, g), int(rng.randint(1, 3)))
    return img


def _draw(img: np.ndarray, cls: int, x0: int, y0: int, size: int, rng: np.random.RandomState) -> tuple:
    """Draw shape ``cls`` inside the square (x0, y0, size); return its tight box (x1, y1, x2, y2) in pixels."""
    jitter = rng.randint(-25, 26, 3)
    color = tuple(int(np.clip(c + j, 0, 255)) for c, j in zip(_COLORS[cls], jitter))
    x1, y1, x2, y2 = x0, y0, x0 + size - 1, y0 + size - 1
    if cls == 0:  # circle
        r = size // 2
        cv2.circle(img, (x0 + r, y0 + r), r, color, -1, lineType=cv2.LINE_AA)
        x1, y1, x2, y2 = x0, y0, x0 + 2 * r, y0 + 2 * r
    elif cls == 1:  # square
        cv2.rectangle(img, (x1, y1), (x2, y2), color, -1)
    elif cls == 2:  # triangle, apex up
        pts = np.array([[x0 + size // 2, y1], [x1, y2], [x2, y2]], np.int32)
        cv2.fillPoly(img, [pts], color, lineType=cv2.LINE_AA)
    else:  # cross (plus sign), bar width a third of the size
        t = max(size // 3, 2)
        cv2.rectangle(img, (x0 + (size - t) // 2, y1), (x0 + (size + t) // 2, y2), color, -1)
        cv2.rectangle(img, (x1, y0 + (size - t) // 2), (x2, y0 + (size + t) // 2), color, -1)
    return x1, y1, x2, y2


def placements(rng: np.random.RandomState, s: int):
    """Yield ``(cls, x0, y0, size)`` for 1-4 non-overlapping shapes in an (s, s) image.

    The caller draws each shape (with ``rng``) before asking for the next, so every generator built on this one
    (detection, segmentation) consumes the random stream identically and makes the same images.
    """
    boxes = []
    for _ in range(rng.randint(1, 5)):
        for _try in range(20):  # rejection sampling for non-overlapping squares
            size = int(rng.randint(s // 7, s // 3))
            x0, y0 = (int(v) for v in rng.randint(0, s - size, 2))
            if all(x0 + size < a or a2 < x0 or y0 + size < b or b2 < y0 for a, b, a2, b2 in boxes):
                break
        else:
            continue
        yield int(rng.randint(len(NAMES))), x0, y0, size
        boxes.append((x0 - 2, y0 - 2, x0 + size + 2, y0 + size + 2))


def _sample(rng: np.random.RandomState, s: int) -> tuple[np.ndarray, list[str]]:
    """One image and its YOLO label lines."""
    img = _background(rng, s)
    lines = []
    for cls, x0, y0, size in placements(rng, s):
        x1, y1, x2, y2 = _draw(img, cls, x0, y0, size, rng)
        w, h = x2 - x1 + 1, y2 - y1 + 1
        lines.append(f"{cls} {(x1 + w / 2) / s:.6f} {(y1 + h / 2) / s:.6f} {w / s:.6f} {h / s:.6f}")
    return img, lines


def _complete(root: Path, yaml_file: Path, spec: dict) -> bool:
    """True if ``root`` already holds the set described by ``spec``; raise if it holds a different one."""
    if not yaml_file.is_file():
        return False
    found = (yaml.safe_load(yaml_file.read_text()) or {}).get("generator")
    if found != spec:
        raise FileExistsError(
            f"{yaml_file} was written for a different synthetic set ({found}), not {spec}; pass another root "
            f"or delete {root}"
        )
    for split, n in (("train", spec["n_train"]), ("val", spec["n_val"])):
        for i in range(n):
            if not (root / "images" / split / f"{i:06d}.png").is_file():
                return False
            if not (root / "labels" / split / f"{i:06d}.txt").is_file():
                return False
    return True


def write_set(root: Path, yaml_file: Path, spec: dict, names, sample, stream, title: str) -> Path:
    """Write ``spec['n_train']``/``spec['n_val']`` images and label files drawn by ``sample(rng, spec['imgsz'])``
    (``rng = RandomState(stream(split_id))``: train and val use independent streams), then the dataset yaml, last and
    atomically: its presence marks a complete set. Shared by the detection, segmentation and hard generators.

    Processes that start on the same set at once (a grid's trials, parallel test workers) take turns through a lock
    file beside ``root``; whoever comes second finds the set complete and writes nothing, so no process ever reads an
    image another one is rewriting."""
    from filelock import FileLock  # a torch dependency

    root.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(root.parent / f".{root.name}.lock")):
        if _complete(root, yaml_file, spec):  # every file, not only the yaml: an incomplete set is written again
            return yaml_file
        return _write_set(root, yaml_file, spec, names, sample, stream, title)


def _write_set(root: Path, yaml_file: Path, spec: dict, names, sample, stream, title: str) -> Path:
    for split_id, split in enumerate(("train", "val")):
        (root / "images" / split).mkdir(parents=True, exist_ok=True)
        (root / "labels" / split).mkdir(parents=True, exist_ok=True)
        rng = np.random.RandomState(stream(split_id))
        for i in range(spec[f"n_{split}"]):
            img, lines = sample(rng, spec["imgsz"])
            cv2.imwrite(str(root / "images" / split / f"{i:06d}.png"), img)
            (root / "labels" / split / f"{i:06d}.txt").write_text("".join(x + "\n" for x in lines))
    data = {
        "path": str(root),
        "train": "images/train",
        "val": "images/val",
        "names": dict(enumerate(names)),
        "generator": spec,  # read back by the generator to know the set is complete
    }
    tmp = yaml_file.with_suffix(".tmp")
    tmp.write_text(f"# {title}\n" + yaml.safe_dump(data, sort_keys=False))
    tmp.replace(yaml_file)
    return yaml_file


def make_dataset(root, n_train: int = 400, n_val: int = 100, imgsz: int = 128, seed: int = 0) -> Path:
    """Write the synthetic shapes set under ``root`` and return the path of its dataset yaml.

    Deterministic in (n_train, n_val, imgsz, seed); writes nothing if ``root`` already holds the complete set.
    Train and val use independent random streams, so changing ``n_train`` leaves the val images unchanged.
    """
    for k, v in (("n_train", n_train), ("n_val", n_val), ("imgsz", imgsz)):
        if not isinstance(v, int) or v < 1:
            raise ValueError(f"make_dataset: {k} must be a positive integer, got {v!r}")
    if imgsz < 32:
        raise ValueError(f"make_dataset: imgsz {imgsz} is too small for the shapes; use 32 or more (e.g. 128)")
    root = Path(root).resolve()
    yaml_file = root / _YAML_NAME
    spec = dict(n_train=n_train, n_val=n_val, imgsz=imgsz, seed=seed)
    if _complete(root, yaml_file, spec):
        return yaml_file
    return write_set(root, yaml_file, spec, NAMES, _sample, lambda split_id: [seed, split_id],
                     "yolo_attn synthetic shapes set (yolo_attn.data.synthetic.make_dataset)")

"""VisDrone2019-DET -> YOLO labels: ``python -m yolo_attn.data.visdrone SRC DST [--split NAME]``.

SRC is an official split folder (``VisDrone2019-DET-train`` holding ``images/*.jpg`` and ``annotations/*.txt``) or a
folder holding several of them. Each annotation line is ``x,y,w,h,score,category,truncation,occlusion`` (pixels).
Written under DST for split ``train``/``val``/``test`` (from the folder name unless ``--split``)::

    images/{split}/NAME.jpg   a hard link (a copy across file systems) of the original
    labels/{split}/NAME.txt   "cls cx cy w h" normalised, categories 1..10 -> classes 0..9; empty if no target
    ignore/{split}/NAME.txt   "x1 y1 x2 y2" pixels: ignored regions (category 0), score-0 boxes and category 11
                              ("others"), used by ``yolo_attn.eval.visdrone`` and never trained on

Boxes are clipped to the image; boxes with no area left are dropped.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from pathlib import Path

from PIL import Image

__all__ = ("NAMES", "convert_annotation", "convert_split", "convert", "main")

NAMES = ("pedestrian", "people", "bicycle", "car", "van", "truck", "tricycle", "awning-tricycle", "bus", "motor")
_SPLITS = {"train": "train", "val": "val", "test-dev": "test", "test": "test", "test-challenge": "test-challenge"}


def convert_annotation(lines, width: int, height: int, where: str = "annotation") -> tuple[list[str], list[str]]:
    """VisDrone annotation lines -> (YOLO label lines, ignore-region lines ``x1 y1 x2 y2``) for one image."""
    labels, ignore = [], []
    for k, line in enumerate(lines, 1):
        line = line.strip().rstrip(",")
        if not line:
            continue
        parts = line.split(",")
        try:
            if len(parts) < 6:
                raise ValueError
            x, y, w, h, score, cat = (int(float(v)) for v in parts[:6])
        except ValueError:
            raise ValueError(f"{where}:{k}: expected 'x,y,w,h,score,category,truncation,occlusion', got {line!r}") from None
        x1, y1 = max(x, 0), max(y, 0)
        x2, y2 = min(x + w, width), min(y + h, height)  # clip to the image
        if x2 <= x1 or y2 <= y1:
            continue
        if cat == 0 or cat == 11 or score == 0:  # ignored region / "others" / ignore flag: not a target
            ignore.append(f"{x1} {y1} {x2} {y2}")
        elif 1 <= cat <= 10:
            cw, ch = x2 - x1, y2 - y1
            labels.append(f"{cat - 1} {(x1 + cw / 2) / width:.6f} {(y1 + ch / 2) / height:.6f} {cw / width:.6f} {ch / height:.6f}")
        else:
            raise ValueError(f"{where}:{k}: category {cat} is not a VisDrone-DET category (0-11)")
    return labels, ignore


def _link(src: Path, dst: Path) -> None:
    if dst.exists():
        return
    try:
        os.link(src, dst)
    except OSError:  # other file system, or links not allowed
        shutil.copy2(src, dst)


def convert_split(src, dst, split: str | None = None) -> tuple[str, int, int]:
    """Convert one official split folder; return (split, images, boxes)."""
    src, dst = Path(src), Path(dst)
    if split is None:
        tail = src.name.split("DET-")[-1] if "DET-" in src.name else src.name
        if tail not in _SPLITS:
            raise ValueError(f"{src}: cannot tell the split from the folder name; pass --split train|val|test")
        split = _SPLITS[tail]
    images = sorted(p for p in (src / "images").glob("*") if p.suffix.lower() in {".jpg", ".jpeg", ".png"})
    if not images:
        raise FileNotFoundError(f"{src / 'images'}: no images; SRC must be an official VisDrone2019-DET-* folder")
    for sub in ("images", "labels", "ignore"):
        (dst / sub / split).mkdir(parents=True, exist_ok=True)
    n_boxes = 0
    for im in images:
        ann = src / "annotations" / f"{im.stem}.txt"
        if not ann.is_file():
            raise FileNotFoundError(f"{ann}: missing annotation for {im} (test-challenge has none; do not convert it)")
        with Image.open(im) as pil:
            width, height = pil.size
        labels, ignore = convert_annotation(ann.read_text().splitlines(), width, height, where=str(ann))
        _link(im, dst / "images" / split / im.name)
        (dst / "labels" / split / f"{im.stem}.txt").write_text("".join(f"{x}\n" for x in labels))
        (dst / "ignore" / split / f"{im.stem}.txt").write_text("".join(f"{x}\n" for x in ignore))
        n_boxes += len(labels)
    return split, len(images), n_boxes


def convert(src, dst, split: str | None = None) -> list[tuple[str, int, int]]:
    """Convert SRC (one split folder, or a folder of ``VisDrone2019-DET-*`` folders) into DST."""
    src = Path(src)
    if not src.is_dir():
        raise FileNotFoundError(
            f"{src}: no such folder. Download VisDrone2019-DET-train/-val from "
            f"https://github.com/VisDrone/VisDrone-Dataset and unzip them"
        )
    if (src / "images").is_dir():
        return [convert_split(src, dst, split)]
    subs = sorted(p for p in src.iterdir() if (p / "images").is_dir() and (p / "annotations").is_dir())
    if not subs:
        raise FileNotFoundError(f"{src}: neither a split folder (images/, annotations/) nor a folder of them")
    return [convert_split(p, dst) for p in subs]


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m yolo_attn.data.visdrone", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("src", help="VisDrone2019-DET-{train,val,test-dev} folder, or a folder holding them")
    p.add_argument("dst", help="output dataset root (the 'path' of VisDrone.yaml), e.g. datasets/VisDrone")
    p.add_argument("--split", default=None, help="train, val or test (default: from the folder name)")
    a = p.parse_args(argv)
    try:
        done = convert(a.src, a.dst, a.split)
    except (FileNotFoundError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    for split, n_img, n_box in done:
        print(f"{split}: {n_img} images, {n_box} boxes -> {Path(a.dst) / 'labels' / split}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""VisDrone2019-DET -> YOLO labels: ``python -m yolo_attn.data.visdrone SRC DST [--split NAME]``.

SRC is an official split folder (``VisDrone2019-DET-train`` holding ``images/*.jpg`` and ``annotations/*.txt``) or a
folder holding several of them. Each annotation line is ``x,y,w,h,score,category,truncation,occlusion`` (pixels).
Written under DST for split ``train``/``val``/``test`` (from the folder name unless ``--split``)::

    images/{split}/NAME.jpg   a hard link (a copy across file systems) of the original
    labels/{split}/NAME.txt   "cls cx cy w h" normalised, categories 1..10 -> classes 0..9; empty if no target
    ignore/{split}/NAME.txt   "x1 y1 x2 y2" pixels: ignored regions (category 0), score-0 boxes and category 11
                              ("others"), used by ``yolo_attn.eval.visdrone`` and never trained on

Boxes are clipped to the image; boxes wholly outside it (no area left) are dropped and counted in the summary.
Every field must be an integer (``score`` 0 or 1, ``category`` 0-11): anything else stops the conversion with an
error naming the file and line. Only the splits train, val and test (test-dev) are accepted. The conversion is
written into a temporary folder next to DST and moved into DST only when every image converted, so a failed run
leaves DST as it was.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

__all__ = ("NAMES", "SPLITS", "SplitSummary", "parse_annotation", "convert_annotation", "convert_split", "convert",
           "main")

NAMES = ("pedestrian", "people", "bicycle", "car", "van", "truck", "tricycle", "awning-tricycle", "bus", "motor")
SPLITS = {"train": "train", "val": "val", "test-dev": "test", "test": "test"}  # name (or folder tail) -> split
_FIELDS = ("x", "y", "w", "h", "score", "category", "truncation", "occlusion")


@dataclass
class SplitSummary:
    split: str
    images: int = 0
    boxes: int = 0  # training targets written
    ignored: int = 0  # ignore regions written (category 0 / 11, score 0)
    dropped: int = 0  # boxes wholly outside the image (nothing left after clipping)


def _ints(parts: list[str], where: str, k: int, line: str) -> list[int]:
    """The 8 fields as integers; a fractional or non-numeric field is an error naming file, line and field."""
    if len(parts) != len(_FIELDS):
        raise ValueError(f"{where}:{k}: expected 'x,y,w,h,score,category,truncation,occlusion' (8 integer fields), "
                         f"got {line!r}")
    out = []
    for name, v in zip(_FIELDS, parts):
        v = v.strip()
        if not v.lstrip("-").isdigit():
            raise ValueError(f"{where}:{k}: {name} {v!r} is not an integer (VisDrone-DET fields are whole pixels and "
                             f"integer flags): {line!r}")
        out.append(int(v))
    return out


def parse_annotation(lines, width: int, height: int, where: str = "annotation") -> tuple[list[str], list[str], int]:
    """VisDrone annotation lines -> (YOLO label lines, ignore-region lines ``x1 y1 x2 y2``, boxes dropped)."""
    labels, ignore, dropped = [], [], 0
    for k, line in enumerate(lines, 1):
        line = line.strip().rstrip(",")
        if not line:
            continue
        x, y, w, h, score, cat, _, _ = _ints(line.split(","), where, k, line)
        if score not in (0, 1):
            raise ValueError(f"{where}:{k}: score {score} must be 0 (ignore) or 1 (target) in VisDrone-DET ground truth")
        if not 0 <= cat <= 11:
            raise ValueError(f"{where}:{k}: category {cat} is not a VisDrone-DET category (0-11)")
        x1, y1 = max(x, 0), max(y, 0)
        x2, y2 = min(x + w, width), min(y + h, height)  # clip to the image
        if x2 <= x1 or y2 <= y1:
            dropped += 1
            continue
        if cat == 0 or cat == 11 or score == 0:  # ignored region / "others" / ignore flag: not a target
            ignore.append(f"{x1} {y1} {x2} {y2}")
        else:
            cw, ch = x2 - x1, y2 - y1
            labels.append(f"{cat - 1} {(x1 + cw / 2) / width:.6f} {(y1 + ch / 2) / height:.6f} {cw / width:.6f} {ch / height:.6f}")
    return labels, ignore, dropped


def convert_annotation(lines, width: int, height: int, where: str = "annotation") -> tuple[list[str], list[str]]:
    """VisDrone annotation lines -> (YOLO label lines, ignore-region lines ``x1 y1 x2 y2``) for one image."""
    labels, ignore, _ = parse_annotation(lines, width, height, where)
    return labels, ignore


def _link(src: Path, dst: Path) -> None:
    if dst.exists():
        return
    try:
        os.link(src, dst)
    except OSError:  # other file system, or links not allowed
        shutil.copy2(src, dst)


def check_split(split: str) -> str:
    """``--split`` value -> the split folder name; anything VisDrone.yaml does not read is refused."""
    if split not in SPLITS:
        raise ValueError(f"--split {split}: unknown split; use train, val or test (test-dev), the folders "
                         f"VisDrone.yaml reads")
    return SPLITS[split]


def _split_of(src: Path, split: str | None) -> str:
    if split is not None:
        return check_split(split)
    tail = src.name.split("DET-")[-1] if "DET-" in src.name else src.name
    if tail not in SPLITS:
        raise ValueError(f"{src}: cannot tell the split from the folder name; pass --split train|val|test")
    return SPLITS[tail]


def convert_split(src, dst, split: str | None = None) -> SplitSummary:
    """Convert one official split folder into ``dst`` (written in place: ``convert`` gives it a temporary folder)."""
    src, dst = Path(src), Path(dst)
    out = SplitSummary(_split_of(src, split))
    images = sorted(p for p in (src / "images").glob("*") if p.suffix.lower() in {".jpg", ".jpeg", ".png"})
    if not images:
        raise FileNotFoundError(f"{src / 'images'}: no images; SRC must be an official VisDrone2019-DET-* folder")
    for sub in ("images", "labels", "ignore"):
        (dst / sub / out.split).mkdir(parents=True, exist_ok=True)
    for im in images:
        ann = src / "annotations" / f"{im.stem}.txt"
        if not ann.is_file():
            raise FileNotFoundError(f"{ann}: missing annotation for {im} (test-challenge has none; do not convert it)")
        with Image.open(im) as pil:
            width, height = pil.size
        labels, ignore, dropped = parse_annotation(ann.read_text().splitlines(), width, height, where=str(ann))
        _link(im, dst / "images" / out.split / im.name)
        (dst / "labels" / out.split / f"{im.stem}.txt").write_text("".join(f"{x}\n" for x in labels))
        (dst / "ignore" / out.split / f"{im.stem}.txt").write_text("".join(f"{x}\n" for x in ignore))
        out.images, out.boxes, out.ignored, out.dropped = (out.images + 1, out.boxes + len(labels),
                                                           out.ignored + len(ignore), out.dropped + dropped)
    return out


def _sources(src: Path) -> list[Path]:
    if not src.is_dir():
        raise FileNotFoundError(
            f"{src}: no such folder. Download VisDrone2019-DET-train/-val from "
            f"https://github.com/VisDrone/VisDrone-Dataset and unzip them"
        )
    if (src / "images").is_dir():
        return [src]
    subs = sorted(p for p in src.iterdir() if (p / "images").is_dir() and (p / "annotations").is_dir())
    if not subs:
        raise FileNotFoundError(f"{src}: neither a split folder (images/, annotations/) nor a folder of them")
    return subs


def _blocked(dst: Path, target: Path) -> str | None:
    """Why ``target`` cannot become a file (a folder there, or a file where a folder on its path belongs), or None."""
    if target.is_dir():
        return f"{target} is a folder where the conversion writes a file"
    for p in [q for q in target.parents if q == dst or dst in q.parents]:
        if p.exists() and not p.is_dir():
            return f"{p} is a file where the conversion needs a folder"
    return None


def _move_into(tmp: Path, dst: Path) -> None:
    """Move every converted file from ``tmp`` into the same place under ``dst`` (renames: same file system), all or
    nothing: every target is checked first, and a move that fails midway puts back what it had moved or replaced."""
    moves = [(f, dst / f.relative_to(tmp)) for f in sorted(p for p in tmp.rglob("*") if p.is_file())]
    for _, target in moves:
        why = _blocked(dst, target)
        if why:
            raise ValueError(f"{why}; move it away and convert again (nothing was written to {dst})")
    saved = tmp / ".replaced"  # the files of an earlier conversion this one replaces, until every move is done
    done = []
    try:
        for f, target in moves:
            target.parent.mkdir(parents=True, exist_ok=True)
            old = None
            if target.exists():
                old = saved / f.relative_to(tmp)
                old.parent.mkdir(parents=True, exist_ok=True)
                os.replace(target, old)
            try:
                os.replace(f, target)
            except OSError:
                if old is not None:
                    os.replace(old, target)
                raise
            done.append((f, target, old))
    except OSError:
        for f, target, old in reversed(done):
            os.replace(target, f)
            if old is not None:
                os.replace(old, target)
        raise


def convert(src, dst, split: str | None = None) -> list[SplitSummary]:
    """Convert SRC (one split folder, or a folder of ``VisDrone2019-DET-*`` folders) into DST; nothing is written
    to DST unless every split converted (work happens in a temporary sibling folder)."""
    src, dst = Path(src), Path(dst)
    if split is not None:
        check_split(split)
    subs = _sources(src)
    made = [p for p in [dst.parent, *dst.parent.parents] if not p.exists()]  # folders this run would create
    dst.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{dst.name}.converting-", dir=dst.parent))
    try:
        done = [convert_split(p, tmp, split if len(subs) == 1 else None) for p in subs]
        _move_into(tmp, dst)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        for p in made:  # innermost first: leave no empty folders behind
            if p.is_dir() and not any(p.iterdir()):
                p.rmdir()
        raise
    shutil.rmtree(tmp, ignore_errors=True)
    return done


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m yolo_attn.data.visdrone", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("src", help="VisDrone2019-DET-{train,val,test-dev} folder, or a folder holding them")
    p.add_argument("dst", help="output dataset root (the 'path' of VisDrone.yaml), e.g. datasets/VisDrone")
    p.add_argument("--split", default=None, help="train, val or test (default: from the folder name)")
    a = p.parse_args(argv)
    try:
        done = convert(a.src, a.dst, a.split)
    except (OSError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    for s in done:
        print(f"{s.split}: {s.images} images, {s.boxes} boxes, {s.ignored} ignored regions, {s.dropped} boxes dropped "
              f"(wholly outside the image) -> {Path(a.dst) / 'labels' / s.split}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

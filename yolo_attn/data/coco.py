"""COCO instances JSON -> YOLO layout: ``python -m yolo_attn.data.coco ANNOTATIONS IMAGES DST [--split NAME]``.

Works for COCO 2017 and for any COCO-format detection set. Written under DST::

    images/{split}/FILE        hard links (copies across file systems) of the images listed in the json
    labels/{split}/STEM.txt    "cls cx cy w h" normalised; empty for an image without boxes
    annotations/instances_{split}.json   a copy of the json, the ground truth for pycocotools in val_attn.py
    {split}.yaml               a dataset yaml (names, train/val = images/{split}, coco_json) for this split

Classes are the json's categories sorted by id (COCO's 91 ids -> the usual 80 classes 0..79). ``iscrowd`` boxes are
not training targets (pycocotools treats them as ignore regions). Boxes are clipped to the image.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from collections import defaultdict
from pathlib import Path

import yaml

from yolo_attn.data.visdrone import _link

__all__ = ("convert", "main")


def convert(annotations, images, dst, split: str | None = None) -> Path:
    """Convert one COCO json + its image folder; return the path of the dataset yaml written for the split."""
    annotations, images, dst = Path(annotations), Path(images), Path(dst)
    for p, what in ((annotations, "instances json"), (images, "image folder")):
        if not p.exists():
            raise FileNotFoundError(f"{p}: no such {what}. COCO 2017 is at https://cocodataset.org/#download")
    split = split or images.name
    coco = json.loads(annotations.read_text())
    if not {"images", "annotations", "categories"} <= coco.keys():
        raise ValueError(f"{annotations}: not a COCO instances json (needs images, annotations, categories)")
    cats = sorted(coco["categories"], key=lambda c: c["id"])
    cls_of = {c["id"]: i for i, c in enumerate(cats)}
    by_image = defaultdict(list)
    for a in coco["annotations"]:
        by_image[a["image_id"]].append(a)
    for sub in ("images", "labels"):
        (dst / sub / split).mkdir(parents=True, exist_ok=True)
    n_boxes = 0
    for im in coco["images"]:
        src = images / im["file_name"]
        if not src.is_file():
            raise FileNotFoundError(f"{src}: listed in {annotations} but missing; is {images} the matching image folder?")
        w, h = im["width"], im["height"]
        lines = []
        for a in by_image[im["id"]]:
            if a.get("iscrowd", 0):
                continue
            x, y, bw, bh = a["bbox"]
            x1, y1, x2, y2 = max(x, 0), max(y, 0), min(x + bw, w), min(y + bh, h)
            if x2 <= x1 or y2 <= y1:
                continue
            lines.append(f"{cls_of[a['category_id']]} {(x1 + x2) / 2 / w:.6f} {(y1 + y2) / 2 / h:.6f} {(x2 - x1) / w:.6f} {(y2 - y1) / h:.6f}")
        _link(src, dst / "images" / split / Path(im["file_name"]).name)
        (dst / "labels" / split / f"{Path(im['file_name']).stem}.txt").write_text("".join(f"{x}\n" for x in lines))
        n_boxes += len(lines)
    (dst / "annotations").mkdir(exist_ok=True)
    gt = dst / "annotations" / f"instances_{split}.json"
    if annotations.resolve() != gt.resolve():
        shutil.copyfile(annotations, gt)
    data = {
        "path": str(dst.resolve()),
        "train": f"images/{split}",
        "val": f"images/{split}",
        "coco_json": f"annotations/instances_{split}.json",
        "names": {i: c["name"] for i, c in enumerate(cats)},
    }
    out = dst / f"{split}.yaml"
    out.write_text(f"# COCO-format set converted by yolo_attn.data.coco from {annotations}\n" + yaml.safe_dump(data, sort_keys=False))
    print(f"{split}: {len(coco['images'])} images, {n_boxes} boxes, {len(cats)} classes -> {out}")
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m yolo_attn.data.coco", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("annotations", help="COCO instances json, e.g. annotations/instances_val2017.json")
    p.add_argument("images", help="folder with the json's images, e.g. val2017")
    p.add_argument("dst", help="output dataset root, e.g. datasets/coco")
    p.add_argument("--split", default=None, help="split name (default: the image folder's name, e.g. val2017)")
    a = p.parse_args(argv)
    try:
        convert(a.annotations, a.images, a.dst, a.split)
    except (FileNotFoundError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())

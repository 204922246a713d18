"""Datasets named on the command line: ``--data`` -> a dataset yaml whose image and label folders exist; never
downloads, and says how to obtain or convert COCO and VisDrone when they are missing."""

from __future__ import annotations

import os
from pathlib import Path

import yaml

from yolo_attn.errors import UsageError

__all__ = ("resolve_data",)


def _how_to_get(name: str) -> str:
    low = name.lower()
    if "visdrone" in low:
        return (
            "Download VisDrone2019-DET-{train,val} from https://github.com/VisDrone/VisDrone-Dataset and convert each "
            "split: python -m yolo_attn.data.visdrone VisDrone2019-DET-train DST/VisDrone  (see docs/PIPELINE.md)"
        )
    if "coco" in low:
        return (
            "Get COCO 2017 (train2017/, val2017/, annotations/instances_*.json) from https://cocodataset.org and "
            "convert it: python -m yolo_attn.data.coco annotations/instances_val2017.json val2017 DST/coco --split "
            "val2017  (see docs/PIPELINE.md)"
        )
    return "Point 'path' in the dataset yaml at the folder holding the images and labels"


def _folder_message(folder: Path) -> str:
    """What to say for ``--data <folder>``: a dataset yaml is wanted; name the yamls inside, or show one to write."""
    yamls = sorted(p for p in folder.glob("*.y*ml") if "names" in (yaml.safe_load(p.read_text()) or {}))
    if yamls:
        return f"--data {folder} is a folder; pass its dataset yaml instead: --data {yamls[0]}"
    train = "images/train" if (folder / "images" / "train").is_dir() else "images"
    val = "images/val" if (folder / "images" / "val").is_dir() else train
    return (
        f"--data {folder} is a folder, but --data takes a dataset yaml: a file that says where the images are and "
        f"names the classes. Write {folder / 'data.yaml'} with\n"
        f"  path: {folder.resolve()}\n  train: {train}\n  val: {val}\n  names: [class0, class1]  # one per class id\n"
        f"(labels in the sibling 'labels' folders, one .txt per image) and pass --data {folder / 'data.yaml'}"
    )


def resolve_data(data: str | None, splits=("train", "val")) -> str:
    """``--data`` value -> path of a dataset yaml whose ``splits`` folders exist; never downloads.

    None gives the embedded demo set; ``shapes``, ``shapes-hard`` and ``shapes-seg`` name the embedded sets
    (``yolo_attn.data.embedded``, generated on first use; a file of that name in the working directory wins).
    ``coco.yaml`` / ``VisDrone.yaml`` are the yamls shipped in ``yolo_attn/data`` (ultralytics' own ones would
    download). A missing yaml or dataset folder raises ``UsageError`` naming the path and how to obtain or convert
    the data. ``splits``: the splits this use reads (training: train and val; validation: val and the evaluated
    split, so a val-only dataset evaluates). A root found only under ``./datasets/``, or a yaml without ``train``,
    is handed over as a derived copy (``yolo_attn.data.paths``), announced.
    """
    from yolo_attn.data import DATA_DIR
    from yolo_attn.data.embedded import EMBEDDED, demo_dataset, embedded_dataset, is_embedded
    from yolo_attn.data.paths import dataset_root, derived_yaml

    if data is None:
        return str(demo_dataset())
    f = Path(data)
    if f.is_dir():
        raise UsageError(_folder_message(f))
    if not f.is_file() and is_embedded(data):
        return str(embedded_dataset(data))
    if not f.is_file():
        shipped = {p.name.lower(): p for p in DATA_DIR.glob("*.yaml")}
        if f.name.lower() in shipped and len(f.parts) == 1:
            f = shipped[f.name.lower()]
        else:
            raise UsageError(
                f"--data {data}: no such dataset yaml. Shipped: {', '.join(sorted(p.name for p in shipped.values()))}; "
                f"embedded sets: {', '.join(EMBEDDED)}; omit --data for the embedded demo set. {_how_to_get(data)}"
            )
    d = yaml.safe_load(f.read_text()) or {}
    if "names" not in d or "val" not in d:
        raise UsageError(f"--data {f}: a dataset yaml needs 'names' and 'val' (and 'train' to train)")
    for split in dict.fromkeys(splits):
        if not d.get(split):
            raise UsageError(f"--data {f}: no '{split}' split in this dataset yaml" +
                             (" (a dataset yaml needs 'train' to train; val_attn.py needs only 'names' and 'val')"
                              if split == "train" else ""))
    root, note = dataset_root(d, f)
    _check_split_paths(f, d, root, splits)
    if note or not d.get("train"):
        why = note or f"--data {f.name}: no 'train' split; validation only"
        derived = derived_yaml(f, d, root, why)
        print(f"{why}; reading the dataset through {derived}")
        return str(derived)
    return str(f.resolve())


def _check_split_paths(f: Path, d: dict, root: Path, splits) -> None:
    """Every image folder/list of ``splits`` exists and, for a folder, its sibling labels folder has .txt files."""
    for split in dict.fromkeys(splits):
        for rel in [d[split]] if isinstance(d.get(split), str) else d.get(split) or []:
            p = Path(rel) if Path(rel).is_absolute() else root / rel
            if not p.exists():
                raise UsageError(
                    f"--data {f}: {split} path {p} does not exist (dataset root {root}; relative roots are looked up "
                    f"in the working directory, its datasets/ folder, then ultralytics' datasets_dir). "
                    f"{_how_to_get(str(f))}"
                )
            labels = Path(str(p).replace(f"{os.sep}images{os.sep}", f"{os.sep}labels{os.sep}"))
            if p.is_dir() and labels != p and not any(labels.glob("*.txt")):  # ultralytics would stop after a run dir
                raise UsageError(
                    f"--data {f}: {split} labels folder {labels} has no .txt label files (one per image, lines "
                    f"'class cx cy w h' normalised to 0-1). Write or convert the labels there. {_how_to_get(str(f))}"
                )

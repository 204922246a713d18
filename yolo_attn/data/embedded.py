"""The embedded synthetic sets by name, the same at every entry point (``train_attn.py``, ``val_attn.py``,
``ablate_attn.py``, ``yolo-attn ... data=``): ``shapes`` (the demo set), ``shapes-hard`` and ``shapes-seg``.

Each is generated on first use under ``$YOLO_ATTN_DATASETS`` (default ``~/.cache/yolo_attn``) in a folder whose name
spells its settings, and trained with the demo's quick defaults (15 epochs at 128 px).
"""

from __future__ import annotations

from pathlib import Path

__all__ = ("EMBEDDED", "embedded_dataset", "is_embedded", "demo_dataset")


def _shapes() -> Path:
    from yolo_attn.data.synthetic import default_dataset

    return default_dataset()


def _hard() -> Path:
    from yolo_attn.data.shapes_hard import default_hard_dataset

    return default_hard_dataset()


def _seg() -> Path:
    from yolo_attn.data.shapes_seg import default_seg_dataset

    return default_seg_dataset()


EMBEDDED = {"shapes": _shapes, "shapes-hard": _hard, "shapes-seg": _seg}  # name -> maker of its dataset yaml


def _key(name) -> str | None:
    """``shapes-hard``, ``shapes_hard`` and ``shapes-hard.yaml`` all mean the hard set; a path never does."""
    if name is None or len(Path(str(name)).parts) != 1:
        return None
    key = str(name).lower().replace("_", "-")
    for ext in (".yaml", ".yml"):
        key = key.removesuffix(ext)
    return key if key in EMBEDDED else None


def is_embedded(name) -> bool:
    """True for a name of an embedded set (``shapes``, ``shapes-hard``, ``shapes-seg``)."""
    return _key(name) is not None


def embedded_dataset(name) -> Path | None:
    """The dataset yaml of embedded set ``name`` (generated on first use), or None for any other value."""
    key = _key(name)
    return EMBEDDED[key]() if key else None


def demo_dataset(task: str = "detect") -> Path:
    """The set used when no data is given: ``shapes-seg`` for segmentation models, else ``shapes``."""
    return embedded_dataset("shapes-seg" if task == "segment" else "shapes")

"""Where a dataset yaml's relative ``path`` points, and a derived yaml ultralytics can read when we resolve it
differently from ultralytics.

ultralytics' ``check_det_dataset`` resolves a relative ``path`` against the working directory, then its
``datasets_dir`` setting. The docs' commands convert VisDrone into ``datasets/VisDrone`` of the working directory and
then train with ``--data VisDrone.yaml`` (``path: VisDrone``), which neither rule finds (issue 22.9). We also look in
``./datasets/`` (announced), and hand ultralytics a copy of the yaml with that root as an absolute ``path``. The same
copy serves a validation-only dataset (``names`` and ``val``, no ``train``: issue 22.7), where ultralytics insists on
a ``train`` key: the copy's ``train`` repeats ``val``, and only validation reads it.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import yaml

__all__ = ("dataset_root", "derived_yaml", "derived_dir")


def dataset_root(data: dict, yaml_file: Path) -> tuple[Path, str]:
    """``(root, note)``: the dataset root and, when found under ``./datasets/`` only, a line saying so (else "").

    Order: an absolute path; the working directory; ``./datasets/<path>`` (where the docs convert to); ultralytics'
    ``datasets_dir``. No ``path``: the yaml's folder, as ultralytics does.
    """
    from ultralytics.utils import DATASETS_DIR

    path = Path(data.get("path") or yaml_file.parent)
    if path.is_absolute() or path.exists():
        return path.resolve(), ""
    local = Path("datasets") / path
    if local.is_dir() and local.resolve() != (DATASETS_DIR / path).resolve():
        return local.resolve(), (f"--data {yaml_file.name}: dataset root {local.resolve()} (path '{path}' found in "
                                 f"./datasets/ of the working directory; ultralytics' datasets_dir {DATASETS_DIR} "
                                 "would not find it)")
    return (DATASETS_DIR / path).resolve(), ""


def derived_dir() -> Path:
    """``$YOLO_ATTN_DATASETS/resolved-yamls`` or ``~/.cache/yolo_attn/resolved-yamls``."""
    return Path(os.getenv("YOLO_ATTN_DATASETS") or Path.home() / ".cache" / "yolo_attn") / "resolved-yamls"


def derived_yaml(yaml_file: Path, data: dict, root: Path, why: str) -> Path:
    """Write (once per content) a copy of ``data`` with ``path: root`` (absolute) and a ``train`` key; return it."""
    d = {**data, "path": str(root)}
    if not d.get("train"):
        d["train"] = d["val"]  # ultralytics requires the key; a validation never reads it
    text = (f"# derived by yolo_attn from {yaml_file.resolve()}: {why}\n"
            + yaml.safe_dump(d, sort_keys=False, allow_unicode=True))
    digest = hashlib.sha256(text.encode()).hexdigest()[:10]
    out = derived_dir() / f"{yaml_file.stem}-{digest}.yaml"
    if not out.is_file():
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.with_suffix(f".tmp{os.getpid()}")
        tmp.write_text(text)
        tmp.replace(out)  # atomic: concurrent runs never read a half-written yaml
    return out

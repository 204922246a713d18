"""The hard embedded set: deterministic, small and crowded objects, eight classes, reused when complete."""

import hashlib

import numpy as np
import pytest
import yaml

from yolo_attn.data.shapes_hard import HARD_NAMES, make_hard_dataset
from yolo_attn.cli.train import resolve_data_alias


def _digest(root):
    h = hashlib.sha256()
    for f in sorted(root.rglob("*")):
        if f.is_file() and f.suffix in (".png", ".txt"):
            h.update(f.name.encode() + f.read_bytes())
    return h.hexdigest()


def test_deterministic_and_harder_than_the_demo(tmp_path):
    a = make_hard_dataset(tmp_path / "a", n_train=12, n_val=4, imgsz=128)
    b = make_hard_dataset(tmp_path / "b", n_train=12, n_val=4, imgsz=128)
    assert _digest(a.parent) == _digest(b.parent)
    d = yaml.safe_load(a.read_text())
    assert d["names"] == dict(enumerate(HARD_NAMES)) and len(HARD_NAMES) == 8
    labels = [np.loadtxt(f, ndmin=2) for f in sorted((a.parent / "labels" / "train").glob("*.txt"))]
    counts = [len(x) for x in labels]
    assert min(counts) >= 1 and max(counts) <= 9 and np.mean(counts) > 3  # crowded (the demo: 1-4)
    sides = np.concatenate([x[:, 3] for x in labels]) * 128
    assert sides.min() >= 12 - 1e-6 and sides.max() <= 36 + 1e-6  # small (the demo: 18-42 px)
    classes = np.concatenate([x[:, 0] for x in labels])
    assert set(classes.astype(int)) <= set(range(8)) and len(set(classes.astype(int))) >= 6


def test_complete_set_is_reused_and_a_different_one_refused(tmp_path):
    y = make_hard_dataset(tmp_path / "s", n_train=2, n_val=1, imgsz=64)
    mtime = y.stat().st_mtime_ns
    assert make_hard_dataset(tmp_path / "s", n_train=2, n_val=1, imgsz=64).stat().st_mtime_ns == mtime
    with pytest.raises(FileExistsError, match="different synthetic set"):
        make_hard_dataset(tmp_path / "s", n_train=3, n_val=1, imgsz=64)
    with pytest.raises(ValueError, match="imgsz 32 is too small"):
        make_hard_dataset(tmp_path / "t", imgsz=32)


def test_alias_generates_the_default_set(tmp_path, monkeypatch):
    monkeypatch.setenv("YOLO_ATTN_DATASETS", str(tmp_path))
    import yolo_attn.data.shapes_hard as sh

    monkeypatch.setattr(sh, "HARD_DEFAULTS", dict(n_train=2, n_val=1, imgsz=64, seed=0))
    path = resolve_data_alias("shapes-hard")
    assert path.startswith(str(tmp_path / "shapes-hard-v1-2x1-64px-seed0")) and path.endswith("shapes_hard.yaml")
    assert resolve_data_alias("coco.yaml") == "coco.yaml" and resolve_data_alias(None) is None

"""Defaults follow the data (demo set: quick settings; any --data: YOLOv5 train.py's) and YOLOv5 flag spellings."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

import train_attn
import yolo_attn.engine.train as ytrain
from conftest import subprocess_env
from yolo_attn.engine.train import DEMO_DEFAULTS, YOLOV5_DEFAULTS, resolve_defaults

ROOT = Path(__file__).resolve().parents[2]


def test_demo_set_gets_quick_defaults():
    got, note = resolve_defaults(None, epochs=None, imgsz=None, batch=None, workers=None)
    assert got == {"epochs": 15, "imgsz": 128, "batch": 16, "workers": DEMO_DEFAULTS["workers"]}
    assert note.startswith("defaults: epochs 15, imgsz 128, batch 16") and "demo set" in note


def test_any_data_gets_yolov5_defaults_with_workers_capped_by_cpus(monkeypatch):
    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    got, note = resolve_defaults("coco.yaml", "0", epochs=None, imgsz=None, batch=None, workers=None)
    assert got == {"epochs": 100, "imgsz": 640, "batch": 16, "workers": 2}
    assert "YOLOv5 train.py defaults for --data coco.yaml" in note and "workers 8 capped at 2" in note
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)  # device None: ultralytics picks the GPU
    assert resolve_defaults("coco.yaml", epochs=None, imgsz=None, batch=None, workers=None)[0]["workers"] == 2
    monkeypatch.setattr(os, "cpu_count", lambda: 64)
    got, _ = resolve_defaults("coco.yaml", "0,1,2,3", epochs=None, imgsz=None, batch=None, workers=None)
    assert got["workers"] == 8  # 64 cores / 4 GPUs = 16 per process, capped at 8
    monkeypatch.setattr(os, "cpu_count", lambda: 16)
    got, _ = resolve_defaults("coco.yaml", "0,1,2,3", epochs=None, imgsz=None, batch=None, workers=None)
    assert got["workers"] == 4  # as ultralytics' build_dataloader: cpu_count // GPUs


def test_any_data_on_the_cpu_gets_zero_workers_as_ultralytics(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    for device in ("cpu", None):
        got, note = resolve_defaults("coco.yaml", device, epochs=None, imgsz=None, batch=None, workers=None)
        assert got == {"epochs": 100, "imgsz": 640, "batch": 16, "workers": 0}
        assert note.endswith("workers 0 (YOLOv5 train.py defaults for --data coco.yaml; workers 0 on the CPU, as "
                             "ultralytics does)")


def test_given_values_win_and_are_not_reported():
    got, note = resolve_defaults("coco.yaml", epochs=3, imgsz=320, batch=None, workers=0)
    assert got == {"epochs": 3, "imgsz": 320, "batch": 16, "workers": 0}
    assert note.startswith("defaults: batch 16 (") and "epochs" not in note and "workers" not in note
    assert resolve_defaults(None, epochs=1, imgsz=64, batch=2, workers=0) == (
        {"epochs": 1, "imgsz": 64, "batch": 2, "workers": 0}, "")


@pytest.mark.parametrize("flag,dest,value", [
    ("--img", "imgsz", 96), ("--img-size", "imgsz", 96), ("--imgsz", "imgsz", 96),
    ("--batch", "batch_size", 4), ("--batch-size", "batch_size", 4),
])
def test_yolov5_spellings(flag, dest, value):
    args, extra = train_attn.parse_args([flag, str(value)])
    assert getattr(args, dest) == value and extra == []


def test_flags_default_to_none_and_help_shows_both_sets():
    args, _ = train_attn.parse_args([])
    assert (args.epochs, args.imgsz, args.batch_size, args.workers) == (None, None, None, None)
    r = subprocess.run([sys.executable, str(ROOT / "train_attn.py"), "--help"], capture_output=True, text=True,
                       env=subprocess_env(), timeout=300)
    text = " ".join(r.stdout.split())
    assert r.returncode == 0
    for k in ("epochs", "imgsz", "batch", "workers"):
        assert f"(default: {DEMO_DEFAULTS[k]} on the demo set, {YOLOV5_DEFAULTS[k]} with --data)" in text, k


def test_train_passes_the_resolved_defaults_and_prints_why(monkeypatch, tmp_path, capsys):
    seen = []
    monkeypatch.setattr(ytrain, "train_one", lambda cfg, data, **kw: seen.append(kw) or tmp_path)
    monkeypatch.setattr(ytrain, "resolve_data", lambda data: str(data))  # no dataset needed here
    ytrain.train("yolov5n-se.yaml", "some/data.yaml", project=str(tmp_path), imgsz=64)
    assert {k: seen[0][k] for k in ("epochs", "imgsz", "batch")} == {"epochs": 100, "imgsz": 64, "batch": 16}
    assert seen[0]["workers"] == (min(os.cpu_count(), 8) if torch.cuda.is_available() else 0)
    out = capsys.readouterr().out
    assert "defaults: epochs 100, batch 16, workers" in out and "YOLOv5 train.py defaults for --data data.yaml" in out
    seen.clear()
    ytrain.train("yolov5n-se.yaml", None, project=str(tmp_path), workers=0)
    assert {k: seen[0][k] for k in ("epochs", "imgsz", "batch", "workers")} == {
        "epochs": 15, "imgsz": 128, "batch": 16, "workers": 0}


def test_trainer_keeps_an_explicit_worker_count_on_cpu(tmp_path):
    """ultralytics' trainer forces workers=0 on CPU; the yolo_attn trainers keep an explicit count (the demo's)."""
    from ultralytics.models.yolo.detect import DetectionTrainer

    from yolo_attn.data.synthetic import make_dataset
    from yolo_attn.engine.trainers import AttnDetectionTrainer

    data = make_dataset(tmp_path / "d", n_train=4, n_val=2, imgsz=64)
    kw = dict(model="yolov5n-se.yaml", data=str(data), device="cpu", project=str(tmp_path / "runs"), exist_ok=True)
    assert AttnDetectionTrainer(overrides={**kw, "workers": 1}).args.workers == 1
    assert DetectionTrainer(overrides={**kw, "workers": 1}).args.workers == 0
    assert AttnDetectionTrainer(overrides=kw).args.workers == 0  # not asked for: ultralytics' choice stands

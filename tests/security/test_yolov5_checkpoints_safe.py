"""Issues 26/27: genuine YOLOv5 checkpoints (fused, fp16/fp32, legacy format, ``ema`` only, saved by
``python -m yolo_attn.yolov5`` with our modules) load through the safe reader and give YOLOv5's own outputs;
segmentation ones get a true message; ``val_attn.py``/``yolo-attn val`` validate them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import torch

from yolo_attn.checkpoint import load_checkpoint_safely
from yolo_attn.errors import UsageError

from conftest import subprocess_env

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]


@pytest.fixture(scope="module")
def variants(tmp_path_factory, yolov5_ref):
    out = tmp_path_factory.mktemp("v5variants")
    env = subprocess_env(PYTHONPATH=f"{ROOT}:{yolov5_ref}")
    r = subprocess.run([sys.executable, str(HERE / "yolov5_variants.py"), str(out)], env=env, capture_output=True,
                       text=True, timeout=900)
    assert r.returncode == 0, r.stderr[-3000:]
    return out


@pytest.mark.parametrize("name", ["ema-only", "fp32", "legacy", "fused", "runner-simam"])
def test_yolov5_checkpoint_loads_safely_with_yolov5s_outputs(variants, name, log_lines):
    from ultralytics import YOLO

    from yolo_attn.anchor.model import AnchorDetectionModel

    ckpt = load_checkpoint_safely(variants / f"{name}.pt")
    model = ckpt["model"]
    assert isinstance(model, AnchorDetectionModel)
    ref = torch.load(variants / f"{name}.out.pt")
    with torch.no_grad():
        y = model.float().eval()(ref["x"])[0]
    yv5 = ref["y"]  # (B, N, 5 + nc): xywh, objectness, class probabilities; ours (B, 4 + nc, N), obj x class
    assert y.shape == (1, 4 + 80, yv5.shape[1])
    torch.testing.assert_close(y[:, :4].permute(0, 2, 1), yv5[..., :4], atol=1e-3, rtol=1e-3)
    torch.testing.assert_close(y[:, 4:].permute(0, 2, 1), yv5[..., 4:5] * yv5[..., 5:], atol=1e-3, rtol=1e-3)
    assert any("a YOLOv5 checkpoint" in ln and "converted in memory" in ln for ln in log_lines)
    assert isinstance(YOLO(str(variants / f"{name}.pt")).model, AnchorDetectionModel)  # ultralytics' own path
    if name == "runner-simam":
        assert any(type(m).__name__ == "SimAM" for m in model.modules())


def test_yolov5_segmentation_checkpoint_gets_a_true_message(variants):
    with pytest.raises(UsageError, match="a YOLOv5 segmentation checkpoint") as e:
        load_checkpoint_safely(variants / "seg.pt")
    assert "tampered" not in str(e.value)


def test_runner_checkpoint_reader_keeps_our_classes(variants):
    from yolo_attn.checkpoint.yolov5 import read_yolov5_checkpoint

    ck = read_yolov5_checkpoint(variants / "runner-simam.pt")
    assert "yolo_attn.models.simam.SimAM" in ck.classes.values()


@pytest.mark.parametrize("cli", ["val_attn.py", "yolo-attn"])
def test_yolov5_checkpoint_validates(variants, cli, tmp_path):
    w = variants / "fp32.pt"
    if cli == "val_attn.py":
        cmd = [sys.executable, str(ROOT / "val_attn.py"), "--weights", str(w), "--data", "shapes", "--imgsz", "64",
               "--project", str(tmp_path)]
    else:
        cmd = [sys.executable, "-m", "yolo_attn.cli.yolo", "val", f"model={w}", "data=shapes", "imgsz=64",
               f"project={tmp_path}"]
    r = subprocess.run(cmd, capture_output=True, text=True, env=subprocess_env(), cwd=tmp_path, timeout=600)
    out = r.stdout + r.stderr
    assert r.returncode == 0, out[-3000:]
    assert "a YOLOv5 checkpoint (packaged layout" in out and "converted in memory" in out
    assert "mAP50" in out

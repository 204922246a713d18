"""The way back (issue 27): ``python -m yolo_attn.yolov5 export-ckpt best.pt out.pt`` writes a yolo_attn anchor-based
checkpoint (here with an inserted SE) as a YOLOv5 checkpoint that YOLOv5 v7.0's own ``attempt_load`` (what detect.py,
val.py and export.py call) reads into its own ``Model`` and that gives our model's output on the same image."""

import os
import subprocess
import sys
from pathlib import Path

import torch

from conftest import subprocess_env
from module_checks import randomise
from yolo_attn.graph.anchors import anchor_cfg
from yolo_attn.anchor.model import AnchorDetectionModel
from yolo_attn.graph.placement import generate_cfg
from yolo_attn.graph.anchors import yolov5_format

ROOT = Path(__file__).resolve().parents[2]

# YOLOv5's own loader, as detect.py / val.py call it (fused, eval). v7.0's torch.load predates torch 2.6's
# weights_only default: TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD=1 gives it the torch.load it was written for (the current
# repository's loader passes weights_only=False itself).
READ = r'''
import sys, torch
import yolov5.utils.downloads
yolov5.utils.downloads.attempt_download_from_hub = lambda *a, **k: None  # the pip package asks the HF hub first
from yolov5.models.experimental import attempt_load
from yolov5.models.yolo import Detect, Model
m = attempt_load(sys.argv[1], device="cpu")
x = torch.load(sys.argv[2])
with torch.no_grad():
    y = m(x)[0]
torch.save({"y": y, "model": type(m).__module__ + "." + type(m).__name__, "detect": type(m.model[-1]).__name__,
            "names": m.names, "stride": m.stride, "types": [type(l).__name__ for l in m.model]}, sys.argv[3])
'''


def env(ref):
    return subprocess_env(PYTHONPATH=os.pathsep.join([str(ROOT), str(ref)]), TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD="1")


def test_export_ckpt_is_read_by_yolov5_attempt_load(yolov5_ref, tmp_path):
    cfg = anchor_cfg(generate_cfg("yolov5n.yaml", "SE", ["neck"], [], tmp_path), tmp_path)
    model = AnchorDetectionModel(str(cfg), nc=4, verbose=False)
    randomise(model, scale=0.02, shift=True)  # every tensor off its init: equal outputs mean equal weights
    model.names = {0: "circle", 1: "square", 2: "triangle", 3: "cross"}
    torch.save({"model": model, "train_args": {"imgsz": 128}, "epoch": -1}, tmp_path / "best.pt")
    r = subprocess.run([sys.executable, "-m", "yolo_attn.yolov5", "export-ckpt", "best.pt", "yolov5-best.pt"],
                       cwd=tmp_path, env=env(yolov5_ref), capture_output=True, text=True, timeout=900)
    assert r.returncode == 0, r.stderr[-3000:]
    assert "yolov5-best.pt: YOLOv5 checkpoint of best.pt" in r.stdout
    x = torch.rand(2, 3, 128, 96, generator=torch.Generator().manual_seed(0))
    torch.save(x, tmp_path / "x.pt")
    r = subprocess.run([sys.executable, "-c", READ, "yolov5-best.pt", "x.pt", "out.pt"], cwd=tmp_path,
                       env=env(yolov5_ref), capture_output=True, text=True, timeout=900)
    assert r.returncode == 0, r.stderr[-3000:]
    theirs = torch.load(tmp_path / "out.pt", weights_only=False)
    assert theirs["model"] == "yolov5.models.yolo.DetectionModel" and theirs["detect"] == "Detect"
    assert "SE" in theirs["types"] and theirs["names"] == model.names
    model.float().eval()
    with torch.no_grad():
        y = model(x)[0].permute(0, 2, 1)  # (B, N, 4 + nc): xywh, objectness x class probabilities
    ty = theirs["y"]  # YOLOv5's (B, N, 5 + nc)
    torch.testing.assert_close(ty[..., :4], y[..., :4], atol=2e-3, rtol=1e-3)
    torch.testing.assert_close(ty[..., 4:5] * ty[..., 5:], y[..., 4:], atol=2e-3, rtol=1e-3)


def test_export_ckpt_refuses_an_anchor_free_model(yolov5_ref, tmp_path):
    from ultralytics.nn.tasks import DetectionModel

    torch.save({"model": DetectionModel("yolov5n.yaml", nc=4, verbose=False), "epoch": -1}, tmp_path / "best.pt")
    r = subprocess.run([sys.executable, "-m", "yolo_attn.yolov5", "export-ckpt", "best.pt", "out.pt"], cwd=tmp_path,
                       env=env(yolov5_ref), capture_output=True, text=True, timeout=900)
    assert r.returncode == 2 and "an anchor-free (YOLOv5u) model" in r.stderr and not (tmp_path / "out.pt").exists()


def test_yolov5_format_of_an_anchor_yaml(tmp_path):
    from yolo_attn.graph.anchors import load_model_dict

    d = yolov5_format(load_model_dict(anchor_cfg("yolov5s.yaml", tmp_path)) | {"scale": "s"}, nc=4)
    assert (d["depth_multiple"], d["width_multiple"], d["nc"]) == (0.33, 0.5, 4)
    assert d["head"][-1][2:] == ["Detect", ["nc", "anchors"]] and len(d["anchors"]) == 3 and "scales" not in d

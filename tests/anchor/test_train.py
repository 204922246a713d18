"""Training with the anchor-based head end to end (slow): train_attn.py --anchors, fresh-process and weights-only
loading, val_attn.py, ONNX parity, AutoAnchor on ``anchors: 3``, resume."""

import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import yaml

from conftest import subprocess_env
from yolo_attn.data.synthetic import make_dataset

REPO = Path(__file__).resolve().parents[2]
TINY = ["--epochs", "1", "--imgsz", "64", "--batch-size", "4", "--device", "cpu", "--workers", "0", "plots=False"]


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return make_dataset(tmp_path_factory.mktemp("data"), n_train=16, n_val=4, imgsz=64, seed=0)


def _train(args, cwd, **env):
    r = subprocess.run([sys.executable, str(REPO / "train_attn.py"), *args], cwd=cwd, env=subprocess_env(**env),
                       capture_output=True, text=True, timeout=1200)
    return r, r.stdout + r.stderr


@pytest.fixture(scope="module")
def anchor_run(data, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("anchor_run")
    r, out = _train(["--cfg", "yolov5n-simam.yaml", "--anchors", "--data", str(data), "--project", str(tmp / "runs"),
                     *TINY], tmp)
    assert r.returncode == 0, out[-4000:]
    return tmp / "runs" / "yolov5n-simam-anchors", out


@pytest.mark.slow
def test_anchors_run_records_head_defaults_and_losses(anchor_run):
    run, out = anchor_run
    assert run.is_dir()  # the run name says which head
    line = next(ln for ln in out.splitlines() if ln.startswith("defaults:") and "scratch-low" in ln)
    for item in ("optimizer SGD", "lr0 0.01", "momentum 0.937", "weight_decay 0.0005", "warmup_epochs 3.0",
                 "warmup_bias_lr 0.1", "box 0.05", "obj 1.0", "cls 0.5", "anchor_t 4.0", "close_mosaic 0"):
        assert item in line, (item, line)
    assert "AutoAnchor: " in out and "Best Possible Recall (BPR)" in out
    args = yaml.safe_load((run / "args.yaml").read_text())
    assert Path(args["model"]).name == "yolov5n-simam-anchors.yaml"
    assert (args["optimizer"], args["box"], args["close_mosaic"], args["momentum"]) == ("SGD", 0.05, 0, 0.937)
    header = next(csv.reader(open(run / "results.csv")))
    assert [h.strip() for h in header[2:5]] == ["train/box_loss", "train/obj_loss", "train/cls_loss"]
    assert "val/obj_loss" in [h.strip() for h in header]
    assert "box_loss   obj_loss   cls_loss" in out  # the progress bar's columns


LOAD = """
import json, os, sys, torch
if os.environ.get("ULTRALYTICS_SAFE_LOAD") == "1":
    import yolo_attn  # weights-only unpickling imports nothing: the allow list must be installed first
from ultralytics import YOLO
m = YOLO(sys.argv[1])
net = m.model
head = net.model[-1]
x = torch.load(sys.argv[2])
net.float().eval()
with torch.no_grad():
    y = net(x)[0]
torch.save({"y": y, "anchors": head.anchors.clone()}, sys.argv[3])
res = m.predict(torch.rand(1, 3, 64, 64), imgsz=64, conf=0.0, verbose=False)[0]
print(json.dumps({"model": type(net).__module__ + "." + type(net).__name__,
                  "head": type(head).__module__ + "." + type(head).__name__, "anchors": list(head.anchors.shape),
                  "y": list(y.shape), "boxes": len(res.boxes), "hyp": getattr(net, "hyp", {})}))
"""


@pytest.mark.slow
@pytest.mark.parametrize("safe", ["0", "1"])
def test_best_pt_loads_in_a_fresh_process(anchor_run, tmp_path, safe):
    run, _ = anchor_run
    x = torch.rand(1, 3, 64, 64, generator=torch.Generator().manual_seed(0))
    torch.save(x, tmp_path / "x.pt")
    r = subprocess.run([sys.executable, "-c", LOAD, str(run / "weights" / "best.pt"), str(tmp_path / "x.pt"),
                        str(tmp_path / "y.pt")], cwd=tmp_path,
                       env=subprocess_env(ULTRALYTICS_SAFE_LOAD=safe), capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    got = json.loads(r.stdout.strip().splitlines()[-1])
    assert got["model"] == "yolo_attn.anchor.model.AnchorDetectionModel"
    assert got["head"] == "yolo_attn.anchor.head.AnchorDetect"
    assert got["anchors"] == [3, 3, 2]
    assert got["y"] == [1, 4 + 4, 3 * (8 * 8 + 4 * 4 + 2 * 2)]  # 4 classes; 3 anchors x cells at strides 8, 16, 32
    assert got["boxes"] > 0
    # the run's loss gains (YOLOv5's train.py scaling at nl 3, nc 4, imgsz 64), written out: the checkpoint keeps them
    hyp = got["hyp"]
    assert hyp["box"] == pytest.approx(0.05) and hyp["cls"] == pytest.approx(0.5 * 4 / 80)
    assert hyp["obj"] == pytest.approx(1.0 * (64 / 640) ** 2) and hyp["anchor_t"] == 4.0
    # the fresh process computes what the checkpoint's model computes here
    ckpt = torch.load(run / "weights" / "best.pt", map_location="cpu", weights_only=False)
    net = (ckpt.get("ema") or ckpt["model"]).float().eval()
    with torch.no_grad():
        y = net(x)[0]
    theirs = torch.load(tmp_path / "y.pt")
    torch.testing.assert_close(theirs["y"], y, atol=1e-5, rtol=1e-5)
    assert torch.equal(theirs["anchors"], net.model[-1].anchors)


@pytest.mark.slow
def test_val_attn_validates_the_anchor_checkpoint(anchor_run, data, tmp_path):
    run, _ = anchor_run
    r = subprocess.run([sys.executable, str(REPO / "val_attn.py"), "--weights", str(run / "weights" / "best.pt"),
                        "--data", str(data), "--imgsz", "64", "--device", "cpu", "--project", str(tmp_path / "v")],
                       cwd=tmp_path, env=subprocess_env(), capture_output=True, text=True, timeout=600)
    out = r.stdout + r.stderr
    assert r.returncode == 0, out[-3000:]
    assert "mAP50-95" in out and "all" in out


@pytest.mark.slow
def test_onnx_export_matches_the_checkpoint(anchor_run, tmp_path):
    from yolo_attn.engine.export import PARITY_ATOL, export_and_check

    run, _ = anchor_run
    results = export_and_check(str(run / "weights" / "best.pt"), formats=("onnx", "torchscript"), imgsz=64)
    for fmt in ("onnx", "torchscript"):
        (normalised,) = results[fmt]["max_abs_diff_normalised"].values()
        assert normalised <= PARITY_ATOL, (fmt, results[fmt])


@pytest.mark.slow
def test_anchor_count_yaml_trains_with_anchors_from_the_data(data, tmp_path):
    """``anchors: 3``: placeholders, AutoAnchor computes anchors at train start; they end up in the checkpoint."""
    cfg = tmp_path / "yolov5n-count.yaml"
    src = yaml.safe_load((Path(__import__("yolo_attn").CONFIG_DIR) / "yolov5-simam.yaml").read_text())
    src["anchors"] = 3
    src["head"][-1][3] = ["nc", "anchors"]
    cfg.write_text(yaml.safe_dump(src, sort_keys=False))
    r, out = _train(["--cfg", str(cfg), "--data", str(data), "--project", str(tmp_path / "runs"), *TINY], tmp_path)
    assert r.returncode == 0, out[-4000:]
    assert "Anchors are a poor fit to dataset" in out and "new anchors kept" in out, out[-3000:]
    run = tmp_path / "runs" / "yolov5n-count-anchors"
    from ultralytics.nn.tasks import torch_safe_load

    ckpt = torch_safe_load(str(run / "weights" / "best.pt"))[0]
    net = ckpt.get("ema") or ckpt["model"]
    head = net.model[-1]
    pixels = head.anchors.float() * head.stride.float().view(-1, 1, 1)
    placeholder = torch.arange(6.0).view(3, 2)  # what anchors: 3 starts from (YOLOv5's placeholders)
    assert not any(torch.allclose(p, placeholder) for p in pixels)
    assert (pixels > 2.0 - 1e-3).all()  # k-means + evolution clip anchors at 2 px
    assert isinstance(net.yaml["anchors"], list) and len(net.yaml["anchors"]) == 3  # rebuildable from its yaml
    rebuilt = type(net)(net.yaml, nc=head.nc, verbose=False).model[-1]
    torch.testing.assert_close(rebuilt.anchors, head.anchors.float(), atol=0.01, rtol=0.01)


@pytest.mark.slow
def test_noautoanchor_keeps_the_yaml_anchors(data, tmp_path):
    """--noautoanchor, and YOLOv5-only settings given as key=value reach the loss (scaled) and the checkpoint."""
    r, out = _train(["--cfg", "yolov5n.yaml", "--anchors", "--noautoanchor", "--data", str(data),
                     "--project", str(tmp_path / "runs"), *TINY, "obj=0.7", "anchor_t=3.0"], tmp_path)
    assert r.returncode == 0, out[-4000:]
    assert "AutoAnchor: skipped (--noautoanchor)" in out and "Best Possible Recall" not in out
    line = next(ln for ln in out.splitlines() if ln.startswith("defaults:"))
    assert "optimizer SGD" in line and "obj " not in line and "anchor_t" not in line  # given, so not a default
    ckpt = torch.load(tmp_path / "runs" / "yolov5n-anchors" / "weights" / "last.pt", map_location="cpu",
                      weights_only=False)
    net = ckpt.get("ema") or ckpt["model"]
    assert net.yaml["hyp"] == {"obj": 0.7, "anchor_t": 3.0, "noautoanchor": True}
    assert net.hyp["obj"] == pytest.approx(0.7 * (64 / 640) ** 2) and net.hyp["anchor_t"] == 3.0
    assert net.hyp["box"] == pytest.approx(0.05) and net.hyp["cls"] == pytest.approx(0.5 * 4 / 80)


@pytest.mark.slow
def test_killed_anchor_run_resumes_with_its_head_and_anchors(data, tmp_path):
    """--resume: the anchor trainer again (obj_loss column continues), AutoAnchor not re-run, anchors kept."""
    import os
    import signal
    import time

    project, run = tmp_path / "runs", tmp_path / "runs" / "killed"
    last = run / "weights" / "last.pt"
    cfg = tmp_path / "yolov5n-count.yaml"
    src = yaml.safe_load((Path(__import__("yolo_attn").CONFIG_DIR) / "yolov5-se.yaml").read_text())
    src["anchors"], src["head"][-1][3] = 3, ["nc", "anchors"]  # computed anchors must survive the resume
    cfg.write_text(yaml.safe_dump(src, sort_keys=False))
    cmd = [sys.executable, str(REPO / "train_attn.py"), "--cfg", str(cfg), "--data", str(data), "--name", "killed",
           "--project", str(project), *TINY[2:], "--epochs", "3"]
    log = open(tmp_path / "first.log", "w")
    proc = subprocess.Popen(cmd, cwd=tmp_path, env=subprocess_env(), stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)

    def epoch():
        try:
            return torch.load(last, map_location="cpu", weights_only=False)["epoch"] if last.is_file() else None
        except Exception:  # caught mid-write
            return None

    try:
        deadline = time.monotonic() + 900
        while epoch() is None and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        os.killpg(proc.pid, signal.SIGKILL)
    finally:
        proc.wait()
        log.close()
    killed_at = epoch()
    assert killed_at is not None and killed_at < 2, (tmp_path / "first.log").read_text()[-3000:]
    before = torch.load(last, map_location="cpu", weights_only=False)
    anchors = (before.get("ema") or before["model"]).model[-1].anchors.float().clone()
    r = subprocess.run([sys.executable, str(REPO / "train_attn.py"), "--resume", str(last), "--device", "cpu",
                        "--workers", "0"], cwd=tmp_path, env=subprocess_env(), capture_output=True, text=True,
                       timeout=1200)
    out = r.stdout + r.stderr
    assert r.returncode == 0, out[-3000:]
    assert "Resuming training" in out and "AutoAnchor" not in out
    rows = list(csv.DictReader(open(run / "results.csv")))
    assert [int(float(x["epoch"])) for x in rows] == [1, 2, 3]
    assert all(float(x["train/obj_loss"]) > 0 for x in rows)
    after = torch.load(run / "weights" / "best.pt", map_location="cpu", weights_only=False)
    torch.testing.assert_close((after.get("ema") or after["model"]).model[-1].anchors.float(), anchors)

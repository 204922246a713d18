"""The anchor-based detector held against YOLOv5 v7.0's own code (run in a child process, tests/anchor/yolov5_child.py):
parameter counts, eval and train outputs on the same weights, loss items on the same predictions, AutoAnchor's BPR."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from conftest import subprocess_env
from yolo_attn.anchor.autoanchor import check_anchors
from yolo_attn.graph.anchors import load_model_dict
from yolo_attn.anchor.head import AnchorDetect
from yolo_attn.anchor.hyp import loss_hyp
from yolo_attn.anchor.loss import AnchorLoss
from yolo_attn.anchor.model import AnchorDetectionModel

CHILD = Path(__file__).with_name("yolov5_child.py")
YAMLS = {"yolov5n": "yolov5n.yaml", "yolov5s": "yolov5s.yaml", "yolov5s6": "hub/yolov5s6.yaml",
         "yolov5-p2": "hub/yolov5-p2.yaml"}


def yolov5(ref: Path, job: str, yaml: str, out: Path, *args) -> dict:
    """Run ``job`` of yolov5_child.py under YOLOv5's code; return what it saved."""
    env = subprocess_env(PYTHONPATH=str(ref))
    r = subprocess.run([sys.executable, str(CHILD), job, str(ref / "yolov5" / "models" / yaml), str(out), *map(str, args)],
                       env=env, capture_output=True, text=True, timeout=900)
    assert r.returncode == 0, r.stderr[-3000:]
    return torch.load(out, weights_only=False)


def ours(ref: Path, yaml: str, nc=80) -> AnchorDetectionModel:
    return AnchorDetectionModel(load_model_dict(ref / "yolov5" / "models" / yaml), nc=nc, verbose=False)


@pytest.mark.parametrize("name", list(YAMLS))
def test_parameter_count_equals_yolov5s(yolov5_ref, tmp_path, name):
    theirs = yolov5(yolov5_ref, "params", YAMLS[name], tmp_path / "p.pt")
    model = ours(yolov5_ref, YAMLS[name])
    assert isinstance(model.model[-1], AnchorDetect)
    assert sum(p.numel() for p in model.parameters()) == theirs["params"]
    assert torch.equal(model.stride, theirs["stride"])
    assert torch.allclose(model.model[-1].anchors, theirs["anchors"])  # grid units, (nl, na, 2)
    if name == "yolov5s":
        assert theirs["params"] == 7_235_389


@pytest.mark.parametrize("name", ["yolov5s", "yolov5s6"])
def test_outputs_equal_yolov5_on_the_same_weights(yolov5_ref, tmp_path, name):
    theirs = yolov5(yolov5_ref, "outputs", YAMLS[name], tmp_path / "o.pt", 128)
    model = ours(yolov5_ref, YAMLS[name])
    model.load_state_dict(theirs["state_dict"], strict=True)  # same names, e.g. model.24.m.0.weight, model.24.anchors
    model.eval()
    with torch.no_grad():
        y, maps = model(theirs["x"])
        model.train()
        train_maps = model(theirs["x"])
    ty = theirs["y"]  # (B, N, 5 + nc): xywh, objectness, class probabilities
    assert y.shape == (ty.shape[0], 4 + ty.shape[2] - 5, ty.shape[1])  # ultralytics' (B, 4 + nc, N)
    y = y.permute(0, 2, 1)
    torch.testing.assert_close(y[..., :4], ty[..., :4], atol=1e-4, rtol=1e-4)
    torch.testing.assert_close(y[..., 4:], ty[..., 4:5] * ty[..., 5:], atol=1e-4, rtol=1e-4)
    assert len(train_maps) == len(theirs["maps"])
    for a, b in zip(train_maps, theirs["maps"]):
        assert a.shape == b.shape  # (B, na, ny, nx, 5 + nc)
        torch.testing.assert_close(a, b, atol=1e-4, rtol=1e-4)
    assert [m.shape for m in maps] == [m.shape for m in theirs["maps"]]  # the eval tuple carries the raw maps too


def test_bias_priors_equal_yolov5(yolov5_ref, tmp_path):
    """A fresh build (seeded alike) has YOLOv5's objectness and class bias priors on every level."""
    model = ours(yolov5_ref, YAMLS["yolov5n"], nc=80)
    head = model.model[-1]
    for mi, s in zip(head.m, head.stride):
        b = mi.bias.detach().view(head.na, -1)
        w = 1 / mi.weight.shape[1] ** 0.5  # the conv's default bias init lies in (-w, w)
        obj = b[:, 4] - np.log(8 / (640 / float(s)) ** 2)
        cls = b[:, 5:] - np.log(0.6 / (80 - 0.99999))
        assert obj.abs().max() <= w and cls.abs().max() <= w


@pytest.mark.parametrize("name,imgsz,nc", [("yolov5n", 128, 5), ("yolov5s6", 256, 1), ("yolov5s6", 128, 3)])
def test_loss_items_equal_compute_loss(yolov5_ref, tmp_path, name, imgsz, nc):
    theirs = yolov5(yolov5_ref, "loss", YAMLS[name], tmp_path / "l.pt", imgsz, nc)
    model = ours(yolov5_ref, YAMLS[name], nc=nc)
    nl = model.model[-1].nl
    hyp = loss_hyp(nl, nc, imgsz)
    for k in ("box", "obj", "cls", "anchor_t", "obj_pw", "cls_pw", "fl_gamma", "label_smoothing"):
        assert hyp[k] == pytest.approx(theirs["hyp"][k]), k  # train.py's scaling by levels, classes and image size
    assert torch.allclose(model.model[-1].anchors, theirs["anchors"])
    loss = AnchorLoss(model, hyp)
    items = loss.items(theirs["preds"], theirs["targets"])
    torch.testing.assert_close(items, theirs["items"], atol=1e-5, rtol=1e-5)
    assert items[0] > 0 and items[1] > 0 and (nc == 1 or items[2] > 0)  # all three terms take part
    t = theirs["targets"]
    total, named = loss(theirs["preds"], {"batch_idx": t[:, 0], "cls": t[:, 1:2], "bboxes": t[:, 2:]})
    assert list(named) == ["box_loss", "obj_loss", "cls_loss"]
    torch.testing.assert_close(total.view(-1), theirs["total"].view(-1), atol=1e-5, rtol=1e-5)


def test_loss_outside_a_trainer_uses_scratch_low_at_640(yolov5_ref):
    model = ours(yolov5_ref, YAMLS["yolov5n"], nc=80)
    assert AnchorLoss(model).hyp == loss_hyp(3, 80, 640)
    assert loss_hyp(3, 80, 640)["box"] == pytest.approx(0.05) and loss_hyp(4, 80, 640)["box"] == pytest.approx(0.0375)


def test_autoanchor_bpr_and_anchors_equal_check_anchors(yolov5_ref, tmp_path):
    import random

    theirs = yolov5(yolov5_ref, "bpr", YAMLS["yolov5s"], tmp_path / "b.pt", 640)
    model = ours(yolov5_ref, YAMLS["yolov5s"])
    head = model.model[-1]
    shapes = theirs["shapes"]
    labels = [lb[:, 3:5] for lb in theirs["labels"]]
    random.seed(0)
    np.random.seed(0)
    report = check_anchors(head, shapes, labels, thr=4.0, imgsz=640)
    assert report["bpr"] == pytest.approx(theirs["bpr"], abs=1e-6)
    assert report["aat"] == pytest.approx(theirs["aat"], abs=1e-5)
    assert report["bpr"] < 0.98 and report["replaced"]  # these labels need new anchors: k-means + evolution ran
    torch.testing.assert_close(head.anchors, theirs["anchors_after"], atol=1e-4, rtol=1e-4)  # same RNG, same anchors

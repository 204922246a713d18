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
    head = model.model[-1]
    head.xyxy = True  # what the exporter sets for formats with NMS built in (export nms=True)
    model.load_state_dict(theirs["state_dict"], strict=True)  # the train-mode pass above moved the BN statistics
    model.eval()
    with torch.no_grad():
        y_xyxy, _ = model(theirs["x"])
    torch.testing.assert_close(y_xyxy.permute(0, 2, 1)[..., :4], theirs["y_xyxy"], atol=1e-4, rtol=1e-4)  # YOLOv5's xywh2xyxy


def _yaml_with_anchors(ref: Path, dst: Path, reverse: bool) -> Path:
    """yolov5n.yaml, its anchors listed small-to-large as shipped or large-to-small (P5's first)."""
    import yaml

    d = yaml.safe_load((ref / "yolov5" / "models" / "yolov5n.yaml").read_text())
    if reverse:
        d["anchors"] = d["anchors"][::-1]
    dst.write_text(yaml.safe_dump(d, sort_keys=False))
    return dst


@pytest.mark.parametrize("reverse", [False, True], ids=["small-to-large", "large-to-small"])
def test_bias_priors_and_anchor_order_equal_yolov5(yolov5_ref, tmp_path, monkeypatch, reverse):
    """YOLOv5's Model.__init__ (run in a child) and our bias_init: the same anchors in grid units (check_anchor_order
    flips a yaml listing them large-to-small) and the same objectness/class bias priors added to each level's conv."""
    path = _yaml_with_anchors(yolov5_ref, tmp_path / "v5n.yaml", reverse)
    env = subprocess_env(PYTHONPATH=str(yolov5_ref))
    r = subprocess.run([sys.executable, str(CHILD), "priors", str(path), str(tmp_path / "p.pt")], env=env,
                       capture_output=True, text=True, timeout=900)
    assert r.returncode == 0, r.stderr[-3000:]
    theirs = torch.load(tmp_path / "p.pt", weights_only=False)
    before = {}
    original = AnchorDetect.bias_init

    def spy(head):
        before.setdefault("b", [mi.bias.detach().clone() for mi in head.m])
        return original(head)

    monkeypatch.setattr(AnchorDetect, "bias_init", spy)
    model = AnchorDetectionModel(load_model_dict(path), nc=80, verbose=False)
    head = model.model[-1]
    assert torch.equal(model.stride, theirs["stride"])
    torch.testing.assert_close(head.anchors, theirs["anchors"], atol=0, rtol=0)
    assert (head.anchors.prod(-1).mean(-1).diff() > 0).all()  # smallest anchors on the finest level either way
    assert len(before["b"]) == len(theirs["before"]) == 3
    for mi, b0, t0, t1 in zip(head.m, before["b"], theirs["before"], theirs["after"]):
        torch.testing.assert_close(mi.bias.detach() - b0, t1 - t0, atol=1e-6, rtol=1e-6)  # the priors YOLOv5 adds


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
    """Without a trainer (no ``model.hyp``): hyp.scratch-low's gains as YOLOv5's train.py scales them for 3 levels,
    the model's classes and 640 px, written out here (not through loss_hyp)."""
    model = ours(yolov5_ref, YAMLS["yolov5n"], nc=20)
    assert getattr(model, "hyp", None) is None
    hyp = AnchorLoss(model).hyp
    expected = {"box": 0.05, "cls": 0.5 * 20 / 80, "obj": 1.0, "obj_pw": 1.0, "cls_pw": 1.0, "anchor_t": 4.0,
                "fl_gamma": 0.0, "label_smoothing": 0.0}
    assert {k: hyp[k] for k in expected} == pytest.approx(expected)
    assert loss_hyp(3, 80, 640)["box"] == pytest.approx(0.05) and loss_hyp(4, 80, 640)["box"] == pytest.approx(0.0375)
    assert loss_hyp(3, 80, 320)["obj"] == pytest.approx(0.25) and loss_hyp(3, 40, 640)["cls"] == pytest.approx(0.25)


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


@pytest.mark.parametrize("label_smoothing,fl_gamma", [(0.1, 0.0), (0.0, 1.5)], ids=["label-smoothing", "focal"])
def test_loss_with_label_smoothing_or_focal_equals_compute_loss(yolov5_ref, tmp_path, label_smoothing, fl_gamma):
    """ComputeLoss with --label-smoothing (targets 1 - eps/2, eps/2) and with fl_gamma > 0 (FocalLoss, alpha 0.25
    on positives)."""
    theirs = yolov5(yolov5_ref, "loss", YAMLS["yolov5n"], tmp_path / "l.pt", 128, 5, label_smoothing, fl_gamma)
    model = ours(yolov5_ref, YAMLS["yolov5n"], nc=5)
    hyp = {**loss_hyp(3, 5, 128), "label_smoothing": label_smoothing, "fl_gamma": fl_gamma}
    for k in ("box", "obj", "cls", "anchor_t", "obj_pw", "cls_pw", "fl_gamma", "label_smoothing"):
        assert hyp[k] == pytest.approx(theirs["hyp"][k]), k
    items = AnchorLoss(model, hyp).items(theirs["preds"], theirs["targets"])
    torch.testing.assert_close(items, theirs["items"], atol=1e-6, rtol=1e-5)
    plain = AnchorLoss(model, loss_hyp(3, 5, 128)).items(theirs["preds"], theirs["targets"])
    assert (items - plain).abs().max() > 1e-3  # the setting changes the loss (the test is not about the plain one)


def _labels_with_tiny_boxes(n_images: int, tiny_every: int, seed: int = 5):
    """640x480 images, boxes of 40-200 px (every default anchor fits them) and, on every ``tiny_every``-th box, one
    of about 2 px (no anchor within the 4x ratio): BPR about 1 - 1/tiny_every, whatever the 0.9-1.1 rescale."""
    rng = np.random.RandomState(seed)
    shapes = np.tile(np.array([[640.0, 480.0]]), (n_images, 1))
    labels, k = [], 0
    for _ in range(n_images):
        rows = []
        for _ in range(4):
            k += 1
            wh = [2.3 / 640, 2.3 / 480] if tiny_every and k % tiny_every == 0 else rng.uniform(40, 200, 2) / [640, 480]
            rows.append([0, *rng.uniform(0.3, 0.7, 2), *wh])
        labels.append(np.array(rows))
    return shapes, labels


@pytest.mark.parametrize("tiny_every,bpr_range,replaced", [(16, (0.90, 0.98), True), (100, (0.98, 0.999), False)],
                         ids=["bpr-0.94", "bpr-0.994"])
def test_autoanchor_between_0_90_and_0_98_and_above_equals_check_anchors(yolov5_ref, tmp_path, tiny_every, bpr_range,
                                                                         replaced):
    """check_anchors recomputes anchors below BPR 0.98 (here 0.94: k-means finds a 2 px anchor and keeps it) and
    keeps them above (0.994: one tiny box in 160, below 1 so that a threshold moved up to 1.0 would recompute): the
    same BPR, the same decision and the same anchors as YOLOv5's check_anchors."""
    import random

    shapes, labels = _labels_with_tiny_boxes(40, tiny_every)
    torch.save({"shapes": shapes, "labels": labels}, tmp_path / "labels.pt")
    theirs = yolov5(yolov5_ref, "bpr", YAMLS["yolov5s"], tmp_path / "b.pt", 640, tmp_path / "labels.pt")
    head = ours(yolov5_ref, YAMLS["yolov5s"]).model[-1]
    random.seed(0)
    np.random.seed(0)
    report = check_anchors(head, shapes, [lb[:, 3:5] for lb in labels], thr=4.0, imgsz=640)
    assert bpr_range[0] < theirs["bpr"] <= bpr_range[1]
    assert report["bpr"] == pytest.approx(theirs["bpr"], abs=1e-6)
    assert (report["new_bpr"] is not None) is theirs["kmeans"] is replaced  # k-means ran below 0.98 only
    assert report["replaced"] is replaced
    assert torch.equal(theirs["anchors_after"], theirs["anchors_before"]) is not replaced  # YOLOv5 decided alike
    torch.testing.assert_close(head.anchors, theirs["anchors_after"], atol=1e-4, rtol=1e-4)

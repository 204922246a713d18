"""``--protocol yolov5`` held against YOLOv5 v7.0's own ``val.py`` on the same weights and images (issue 27).

The weights: yolov5n trained by YOLOv5's own train.py on the embedded shapes set (``tests/fixtures``), loaded into
yolo_attn's anchor-based model (``--anchors``) by ``load_weights``. Ours: ``validate(..., protocol="yolov5")``, i.e.
ultralytics' validator with YOLOv5's settings. Theirs: the same state dict in YOLOv5's own ``Model``, validated by
YOLOv5's ``val.run`` (its dataloader, NMS, matching and ``ap_per_class``) in a child process.
"""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import yaml

from conftest import subprocess_env
from yolo_attn.graph.anchors import load_model_dict
from yolo_attn.anchor.model import AnchorDetectionModel
from yolo_attn.data.embedded import embedded_dataset
from yolo_attn.engine.val import validate
from yolo_attn.graph.transfer import load_weights

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
YOLOV5_TRAINED = FIXTURES / "yolov5n-shapes-yolov5.pt"  # see tests/fixtures/README.md
CHILD = Path(__file__).with_name("yolov5_val_child.py")
# the fixture is converged: YOLOv5's val.py gives mAP50 0.653, mAP50-95 0.364 (IoU 0.6), ours with --protocol yolov5
# 0.653 / 0.363 and with ultralytics' default protocol 0.326 (measured, tests/fixtures/README.md)
MIN_MAP = 0.3  # both validators must see real detections, not a few lucky low-confidence boxes
IOU_EFFECT = 0.02  # the two protocols differ by 0.037 mAP50-95 on it: far more than issue 27's 0.005 bound


def shapes_copy(tmp_path: Path) -> Path:
    """A private copy of the embedded shapes set: YOLOv5 and ultralytics both write ``labels/val.cache``."""
    src = Path(embedded_dataset("shapes"))
    dst = tmp_path / "shapes"
    shutil.copytree(src.parent, dst, ignore=shutil.ignore_patterns("*.cache"))
    d = yaml.safe_load((dst / src.name).read_text())
    d["path"] = str(dst)
    (dst / "shapes.yaml").write_text(yaml.safe_dump(d))
    return dst / "shapes.yaml"


@pytest.fixture(scope="module")
def anchor_checkpoint(yolov5_ref, tmp_path_factory):
    """yolo_attn's anchor yolov5n with the YOLOv5-trained weights, as an ultralytics checkpoint; its state dict."""
    tmp = tmp_path_factory.mktemp("protocol")
    data = shapes_copy(tmp)
    names = yaml.safe_load(data.read_text())["names"]
    model = AnchorDetectionModel(load_model_dict(yolov5_ref / "yolov5" / "models" / "yolov5n.yaml"), nc=len(names),
                                 verbose=False)
    report = load_weights(model, str(YOLOV5_TRAINED), verbose=False)
    assert report["transferred"] == report["base_total"] and not report["head_rows"], report
    model.names = dict(names)
    ckpt = tmp / "anchor.pt"
    torch.save({"model": model.half(), "train_args": {"data": str(data), "imgsz": 128}, "epoch": -1}, ckpt)
    sd = tmp / "state_dict.pt"
    torch.save({"state_dict": {k: v.float() if v.is_floating_point() else v for k, v in model.state_dict().items()},
                "names": [names[i] for i in sorted(names)], "imgsz": 128}, sd)
    return tmp, data, ckpt, sd


def yolov5_val(ref: Path, sd: Path, data: Path, out: Path, iou: float = 0.6) -> dict:
    r = subprocess.run([sys.executable, str(CHILD), str(sd), str(data), str(out), str(iou)],
                       env=subprocess_env(PYTHONPATH=str(ref), TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD="1"), capture_output=True, text=True, timeout=900)
    assert r.returncode == 0, r.stderr[-3000:]
    return torch.load(out, weights_only=False)


@pytest.fixture(scope="module")
def ours_yolov5(anchor_checkpoint):
    """``validate(..., protocol="yolov5")`` on the fixture: YOLOv5's settings on ultralytics' validator."""
    tmp, data, ckpt, _ = anchor_checkpoint
    return validate(str(ckpt), str(data), batch=16, project=str(tmp / "runs"), name="ours", protocol="yolov5")


def test_protocol_yolov5_equals_yolov5_val(yolov5_ref, anchor_checkpoint, ours_yolov5):
    tmp, data, ckpt, sd = anchor_checkpoint
    ours = ours_yolov5
    theirs = yolov5_val(yolov5_ref, sd, data, tmp / "theirs.pt")
    # a converged checkpoint, so the bound below compares real detections
    assert theirs["mAP50-95"] > MIN_MAP and ours["mAP50-95"] > MIN_MAP, (ours["mAP50-95"], theirs["mAP50-95"])
    for k in ("mAP50", "mAP50-95"):  # issue 27's bound
        assert abs(ours[k] - theirs[k]) <= 0.005, (k, ours[k], theirs[k])
    written = json.loads((Path(ours["save_dir"]) / "metrics.json").read_text())
    assert written["protocol"] == "yolov5" and written["head"] == "anchor"
    assert written["settings"] == {"iou": 0.6, "conf": 0.001, "max_det": 300, "rect": True}
    assert written["fitness"] == "0.1 mAP50 + 0.9 mAP50-95"


def test_default_protocol_is_ultralytics_and_says_so(anchor_checkpoint, ours_yolov5):
    """The default protocol validates at NMS IoU 0.7 and matches in the letterboxed image (ultralytics'), and the
    protocol is observable in the figures: on the converged fixture mAP50-95 moves by several times issue 27's
    0.005 bound between the two (so a protocol that silently kept ultralytics' settings fails the test above)."""
    tmp, data, ckpt, _ = anchor_checkpoint
    ours = validate(str(ckpt), str(data), batch=16, project=str(tmp / "runs"), name="default")
    assert ours["protocol"] == "ultralytics" and ours["head"] == "anchor"
    assert ours["settings"]["iou"] == 0.7
    assert abs(ours["mAP50-95"] - ours_yolov5["mAP50-95"]) > IOU_EFFECT, (ours["mAP50-95"], ours_yolov5["mAP50-95"])


def test_yolov5_checkpoint_validates_at_its_training_size(tmp_path, log_lines):
    """A checkpoint saved by YOLOv5's train.py validates at its ``opt.imgsz`` (128 for the fixture) without
    ``--imgsz``, as our own checkpoints validate at their ``train_args`` size, and the conversion line says so;
    ``--imgsz`` still wins. (Before, it validated at 640 and the fixture's mAP50-95 fell from 0.363.)"""
    data = shapes_copy(tmp_path)
    own = validate(str(YOLOV5_TRAINED), str(data), batch=16, project=str(tmp_path / "runs"), name="own",
                   protocol="yolov5")
    assert own["imgsz"] == 128
    assert abs(own["mAP50-95"] - 0.363) < 0.005, own  # the fixture's figure at its own size (tests/fixtures/README.md)
    assert any("trained at imgsz 128 (its opt.imgsz)" in line for line in log_lines), log_lines
    given = validate(str(YOLOV5_TRAINED), str(data), imgsz=160, batch=16, project=str(tmp_path / "runs"),
                     name="given", protocol="yolov5")
    assert given["imgsz"] == 160

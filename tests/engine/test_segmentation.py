"""Segmentation end to end: the shapes outlines set, train (the task read from the yaml), val, predict, visualize;
tasks other than detect/segment stop before any run folder exists."""

import cv2
import numpy as np
import pytest
import yaml

import train_attn
import val_attn
from yolo_attn.errors import UsageError
from yolo_attn.cli.guard import main_guard
from yolo_attn.data.shapes_seg import make_seg_dataset, outline
from yolo_attn.data.synthetic import make_dataset

SEG_YAML = "yolo_attn/yaml/seg/yolov5n-seg-se.yaml"


def test_seg_config_is_found_by_name_from_any_folder(tmp_path, monkeypatch):
    """``--cfg yolov5s-seg-se.yaml`` finds the shipped segmentation yaml (yaml/seg/) at scale s, from any cwd."""
    from ultralytics import YOLO

    from yolo_attn.engine.configs import resolve_cfgs

    monkeypatch.chdir(tmp_path)
    assert resolve_cfgs("yolov5s-seg-se.yaml") == ["yolov5s-seg-se.yaml"]
    model = YOLO("yolov5s-seg-se.yaml")
    assert model.task == "segment" and model.model.yaml["scale"] == "s"
    assert type(model.model.model[9]).__name__ == "SE"


def test_outline_of_a_square_is_its_four_corners():
    mask = np.zeros((32, 32), bool)
    mask[4:12, 10:20] = True
    assert sorted(map(tuple, outline(mask).tolist())) == [(10, 4), (10, 11), (19, 4), (19, 11)]


def test_seg_set_is_the_detection_set_with_outlines(tmp_path):
    """Same images as the detection set of the same settings; each polygon's box is the detection box (+- 1 px)."""
    seg = make_seg_dataset(tmp_path / "seg", n_train=6, n_val=2, imgsz=64)
    det = make_dataset(tmp_path / "det", n_train=6, n_val=2, imgsz=64)
    assert yaml.safe_load(seg.read_text())["names"] == {0: "circle", 1: "square", 2: "triangle", 3: "cross"}
    for split, n in (("train", 6), ("val", 2)):
        for i in range(n):
            name = f"{i:06d}"
            assert (seg.parent / "images" / split / f"{name}.png").read_bytes() == \
                (det.parent / "images" / split / f"{name}.png").read_bytes()
            seg_lines = (seg.parent / "labels" / split / f"{name}.txt").read_text().splitlines()
            det_lines = (det.parent / "labels" / split / f"{name}.txt").read_text().splitlines()
            assert len(seg_lines) == len(det_lines) >= 1
            for s, d in zip(seg_lines, det_lines):
                c, *xy = s.split()
                dc, cx, cy, w, h = d.split()
                assert c == dc and len(xy) >= 6 and len(xy) % 2 == 0
                pts = np.array(xy, float).reshape(-1, 2)
                assert pts.min() >= 0 and pts.max() <= 1
                box = [pts[:, 0].min(), pts[:, 1].min(), pts[:, 0].max(), pts[:, 1].max()]
                cx, cy, w, h = map(float, (cx, cy, w, h))
                ref = [cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2]
                assert np.allclose(box, ref, atol=1.5 / 64), (split, name, box, ref)


@pytest.fixture(scope="module")
def seg_run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("seg")
    data = make_seg_dataset(tmp / "shapes-seg", n_train=8, n_val=4, imgsz=64)
    assert main_guard(train_attn.main, ["--cfg", SEG_YAML, "--data", str(data), "--epochs", "1", "--imgsz", "64",
                                        "--batch", "4", "--workers", "0", "--project", str(tmp / "runs")]) == 0
    return tmp, data, tmp / "runs" / "yolov5n-seg-se"


@pytest.mark.slow
def test_train_uses_the_segmentation_trainer(seg_run):
    _, _, run = seg_run
    args = yaml.safe_load((run / "args.yaml").read_text())
    assert args["task"] == "segment"
    header = (run / "results.csv").read_text().splitlines()[0]
    assert "train/seg_loss" in header and "metrics/mAP50-95(M)" in header
    from ultralytics import YOLO

    model = YOLO(run / "weights" / "best.pt")
    assert model.task == "segment" and type(model.model.model[9]).__name__ == "SE"


@pytest.mark.slow
def test_val_predict_visualize_on_the_segmentation_checkpoint(seg_run, tmp_path, capsys):
    tmp, data, run = seg_run
    best = run / "weights" / "best.pt"
    assert main_guard(val_attn.main, ["--weights", str(best), "--project", str(tmp_path), "--name", "v"]) == 0
    assert "masks:        mAP50" in capsys.readouterr().out
    metrics = yaml.safe_load((tmp_path / "v" / "metrics.json").read_text())
    assert metrics["task"] == "segment" and set(metrics["mask"]) == {"precision", "recall", "mAP50", "mAP50-95"}

    from ultralytics import YOLO

    image = data.parent / "images" / "val" / "000000.png"
    (res,) = YOLO(best).predict(str(image), imgsz=64, conf=0.0001, device="cpu", verbose=False)
    assert res.masks is not None and res.masks.data.shape[1:] == (64, 64) and len(res.masks) == len(res.boxes) > 0

    from yolo_attn.analysis.visualize import visualize

    files = visualize(best, image, tmp_path / "att")
    assert {f.name for f in files} == {"layer09_SE.png", "contact_sheet.png", "attention_values.npz"}
    assert cv2.imread(str(tmp_path / "att" / "000000" / "contact_sheet.png")) is not None


@pytest.mark.parametrize("cfg,task", [("yolov8n-pose.yaml", "pose"), ("yolov8n-cls.yaml", "classify"),
                                      ("yolov8n-obb.yaml", "obb")])
def test_other_tasks_stop_before_any_run_folder(tmp_path, capsys, cfg, task):
    assert main_guard(train_attn.main, ["--cfg", cfg, "--imgsz", "64", "--epochs", "1",
                                        "--project", str(tmp_path / "runs")]) == 2
    assert f"--cfg {cfg}: a '{task}' model; train_attn.py/val_attn.py support detect and segment" in \
        capsys.readouterr().err
    assert not (tmp_path / "runs").exists()


def test_val_rejects_other_tasks_by_the_checkpoint(tmp_path, monkeypatch):
    import yolo_attn.engine.val as yval

    monkeypatch.setattr(yval, "check_weights", lambda w: {"model": None, "ema": None})
    monkeypatch.setattr(yval, "task_of", lambda ckpt: "pose")
    with pytest.raises(UsageError, match="--weights x.pt: a 'pose' model"):
        yval.validate("x.pt", project=str(tmp_path))


def test_segmentation_ddp_state_loads_the_plugin_in_a_fresh_worker(tmp_path):
    """Multi-GPU: the state file ultralytics writes names AttnSegmentationTrainer; unpickling it imports yolo_attn."""
    import subprocess
    import sys
    from pathlib import Path

    from ultralytics.utils.dist import generate_ddp_file

    from conftest import subprocess_env
    from yolo_attn.engine.trainers import AttnSegmentationTrainer

    data = make_seg_dataset(tmp_path / "d", n_train=2, n_val=1, imgsz=64)
    trainer = AttnSegmentationTrainer(overrides=dict(model=SEG_YAML, data=str(data), imgsz=64, epochs=1,
                                                     project=str(tmp_path / "runs"), name="ddp", device="cpu"))
    script = Path(generate_ddp_file(trainer))
    state = script.with_suffix(".pt")
    code = ("import sys\nfrom ultralytics.utils.patches import torch_load\n"
            f"state = torch_load({str(state)!r}, map_location='cpu')\n"
            "print('STATE', state['trainer'].__name__, state['trainer'].__module__, 'yolo_attn' in sys.modules)\n")
    try:
        r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=subprocess_env(),
                           timeout=300)
    finally:
        script.unlink(missing_ok=True), state.unlink(missing_ok=True)
    assert r.returncode == 0, r.stderr[-3000:]
    assert "STATE AttnSegmentationTrainer yolo_attn.engine.trainers True" in r.stdout

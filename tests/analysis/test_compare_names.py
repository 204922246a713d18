"""compare's table names modules as they are registered and says at which image size GFLOPs were counted (21.9)."""

import csv

import pytest
import torch
import yaml
from ultralytics.nn.tasks import DetectionModel
from ultralytics.utils.torch_utils import get_flops

from yolo_attn.analysis.compare import compare


def _fake_run(folder, cfg, imgsz=64, map50=0.5, map50_95=0.3):
    """A run folder compare accepts: args.yaml, results.csv, weights/best.pt holding an untrained model of ``cfg``."""
    (folder / "weights").mkdir(parents=True)
    model = DetectionModel(cfg, nc=4, verbose=False)
    torch.save({"model": model, "epoch": -1}, folder / "weights" / "best.pt")
    (folder / "args.yaml").write_text(yaml.safe_dump(
        {"task": "detect", "mode": "train", "model": cfg, "data": "shapes.yaml", "imgsz": imgsz, "epochs": 1, "seed": 0}))
    (folder / "results.csv").write_text(
        f"epoch,metrics/mAP50(B),metrics/mAP50-95(B)\n1,{map50},{map50_95}\n")
    return model


def test_module_column_has_registered_names_and_gflops_say_their_image_size(tmp_path):
    plain = _fake_run(tmp_path / "plain", "yolov5n.yaml")
    _fake_run(tmp_path / "simam", "yolov5n-simam.yaml", map50_95=0.31)
    _fake_run(tmp_path / "cbam", "yolov5n-cbam.yaml", map50_95=0.32)
    res = compare(tmp_path, latency_runs=0)
    rows = list(csv.DictReader(res["files"]["csv"].open()))
    assert {r["config"]: r["module"] for r in rows} == {
        "yolov5n": "none", "yolov5n-simam": "SimAM", "yolov5n-cbam": "CBAM"}
    assert {r["GFLOPs_imgsz"] for r in rows} == {"64"}
    g = {r["config"]: float(r["GFLOPs"]) for r in rows}
    assert g["yolov5n"] == pytest.approx(get_flops(plain, 64), abs=1e-3)
    md = res["markdown"]
    assert "| params | GFLOPs @64 | latency ms" in md
    assert "| yolov5n-simam | SimAM | yolov5n |" in md and "| yolov5n-cbam | CBAM | yolov5n |" in md
    assert "simam |" not in md.replace("yolov5n-simam |", "")

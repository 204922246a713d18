"""Compare never mixes validation protocols (issue 27): ``--protocol yolov5`` runs (``protocol.json`` in the run) and
ultralytics-protocol runs of the same model, data, size, epochs and initialisation land in separate groups, each row
says its protocol, and a YOLOv5-protocol run's best epoch is chosen by YOLOv5's fitness (0.1 mAP50 + 0.9 mAP50-95)."""

import json

import pytest
import torch
import yaml
from ultralytics.nn.tasks import DetectionModel

from yolo_attn.analysis.compare import find_runs, summarise, to_markdown
from yolo_attn.analysis.runs import best_epoch
from yolo_attn.protocols import PROTOCOL_FILE, fitness_of, protocol_settings, run_protocol
from yolo_attn.errors import UsageError

# epoch 2 has the higher mAP50-95, epoch 1 the higher 0.1 mAP50 + 0.9 mAP50-95
RESULTS = "epoch,metrics/mAP50(B),metrics/mAP50-95(B)\n1,0.90,0.300\n2,0.40,0.305\n"


def fake_run(root, name, protocol=None):
    run = root / name
    (run / "weights").mkdir(parents=True)
    torch.save({"model": DetectionModel("yolov5n.yaml", nc=4, verbose=False), "epoch": -1}, run / "weights" / "best.pt")
    (run / "args.yaml").write_text(yaml.safe_dump({"task": "detect", "mode": "train", "model": "yolov5n.yaml",
                                                   "data": "d.yaml", "imgsz": 64, "epochs": 2, "seed": 0}))
    (run / "results.csv").write_text(RESULTS)
    if protocol:
        (run / PROTOCOL_FILE).write_text(json.dumps({"protocol": protocol}))
    return run


def test_compare_never_groups_two_protocols(tmp_path):
    fake_run(tmp_path / "runs", "a")
    fake_run(tmp_path / "runs", "b", "yolov5")
    runs = {r.path.name: r for r in find_runs(tmp_path / "runs")}
    assert runs["a"].protocol == "ultralytics" and runs["b"].protocol == "yolov5"
    assert runs["a"].map50_95 == pytest.approx(0.305) and runs["b"].map50_95 == pytest.approx(0.300)  # own fitness
    rows = summarise(list(runs.values()), latency_runs=0)
    assert len({r["group"] for r in rows}) == 2
    assert sorted(r["protocol"] for r in rows) == ["ultralytics", "yolov5"]
    md = to_markdown(rows)
    assert "validated with yolov5's protocol" in md and "validated with ultralytics's protocol" in md


def test_best_epoch_by_protocol_fitness(tmp_path):
    f = tmp_path / "results.csv"
    f.write_text(RESULTS)
    assert best_epoch(f)[0]["epoch"] == "2"
    assert best_epoch(f, "yolov5")[0]["epoch"] == "1"
    assert fitness_of(0.9, 0.3, "yolov5") == pytest.approx(0.36)


def test_protocol_settings_and_refusals(tmp_path):
    assert protocol_settings("ultralytics") == {}
    assert protocol_settings("yolov5", "shapes.yaml") == {"iou": 0.6, "conf": 0.001, "max_det": 300}
    assert protocol_settings("yolov5", {"val": "../datasets/coco/val2017.txt"})["iou"] == 0.65
    with pytest.raises(UsageError, match="iou=0.7: --protocol yolov5 validates with YOLOv5 val.py's iou=0.6"):
        protocol_settings("yolov5", "d.yaml", {"iou": 0.7})
    with pytest.raises(UsageError, match="--protocol coco"):
        protocol_settings("coco")
    (tmp_path / PROTOCOL_FILE).write_text("[1]")
    with pytest.raises(UsageError, match="not a protocol record"):
        run_protocol(tmp_path)

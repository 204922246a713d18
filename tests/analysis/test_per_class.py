"""Per-class AP50 / AP50-95: taken from ultralytics' own validator metrics, recorded by every training run
(``per_class.json``) and by val_attn.py (``metrics.json``), and shown per config (mean over seeds) by compare."""

import csv
import json

import numpy as np
import pytest
import torch
import yaml
from ultralytics.nn.tasks import DetectionModel
from ultralytics.utils.metrics import DetMetrics

from yolo_attn.analysis.compare import compare
from yolo_attn.eval.per_class import PER_CLASS_FILE, per_class_ap, read_per_class, write_per_class

NAMES = {0: "circle", 1: "square", 2: "triangle", 3: "cross"}


def _metrics(seed=0) -> DetMetrics:
    """ultralytics' DetMetrics over random predictions: distinct AP per class (class 0 has no labels: no AP, so the
    classes' positions in ap_class_index differ from their ids)."""
    rng = np.random.default_rng(seed)
    m = DetMetrics(names=NAMES)
    n = 300
    target = rng.integers(1, 4, 200)
    pred = rng.integers(1, 4, n)
    tp = rng.random((n, 10)) < np.linspace(0.8, 0.2, 10) * pred[:, None] / 3  # more hits for higher classes
    m.update_stats({"tp": tp, "conf": rng.random(n), "pred_cls": pred, "target_cls": target,
                    "target_img": np.unique(target), "im_name": "synthetic.jpg"})
    m.process()
    return m


def test_per_class_equals_ultralytics_maps():
    m = _metrics()
    pc = per_class_ap(m, NAMES)
    assert list(pc) == ["square", "triangle", "cross"]  # no labelled 'circle': no AP, as ultralytics leaves it out
    for c, name in NAMES.items():
        if name in pc:  # box.maps: ultralytics' per-class mAP50-95 indexed by class id (an independent path)
            assert pc[name]["mAP50-95"] == pytest.approx(float(m.box.maps[c]))
            i = list(m.box.ap_class_index).index(c)
            assert pc[name]["mAP50"] == pytest.approx(float(m.box.class_result(i)[2]))
    assert len({round(v["mAP50-95"], 6) for v in pc.values()}) == 3  # distinct values: a mix-up would show


def test_write_and_read_back(tmp_path):
    m = _metrics()
    write_per_class(tmp_path, m, NAMES)
    assert read_per_class(tmp_path) == per_class_ap(m, NAMES)  # JSON keeps floats exactly
    assert not list(tmp_path.glob("*.tmp"))
    (tmp_path / PER_CLASS_FILE).write_text('{"per_class": {"square": {"mAP50": "x"}}}')
    assert read_per_class(tmp_path) is None  # unreadable: treated as not recorded, never half-read
    assert read_per_class(tmp_path / "none") is None


def _fake_run(folder, cfg, seed, m95, per_class=None):
    (folder / "weights").mkdir(parents=True)
    torch.manual_seed(seed)
    torch.save({"model": DetectionModel(cfg, nc=4, verbose=False), "epoch": -1}, folder / "weights" / "best.pt")
    (folder / "args.yaml").write_text(yaml.safe_dump(
        {"task": "detect", "mode": "train", "model": cfg, "data": "shapes.yaml", "imgsz": 64, "epochs": 1, "seed": seed}))
    (folder / "results.csv").write_text(f"epoch,metrics/mAP50(B),metrics/mAP50-95(B)\n1,0.5,{m95}\n")
    if per_class:
        write_per_class(folder, per_class, NAMES)


def test_compare_adds_per_class_columns_mean_over_seeds(tmp_path):
    ms = [_metrics(s) for s in range(3)]
    _fake_run(tmp_path / "b0", "yolov5n.yaml", 0, 0.30, ms[0])
    _fake_run(tmp_path / "b1", "yolov5n.yaml", 1, 0.32, ms[1])
    _fake_run(tmp_path / "se0", "yolov5n-se.yaml", 0, 0.31, ms[2])
    _fake_run(tmp_path / "se1", "yolov5n-se.yaml", 1, 0.34)  # trained before per_class.json: no per-class figures
    res = compare(tmp_path, latency_runs=0)
    rows = {r["config"]: r for r in csv.DictReader(res["files"]["csv"].open())}
    b0, b1 = per_class_ap(ms[0], NAMES), per_class_ap(ms[1], NAMES)
    for name in ("square", "triangle", "cross"):
        for k, col in (("mAP50", "AP50"), ("mAP50-95", "AP50-95")):
            want = (b0[name][k] + b1[name][k]) / 2
            assert float(rows["yolov5n"][f"{col}_{name}"]) == pytest.approx(want, abs=1e-4)
            assert rows["yolov5n-se"][f"{col}_{name}"] == ""  # 1 of its 2 runs recorded none: no partial mean
    assert "AP50_circle" not in rows["yolov5n"]
    md = res["markdown"]
    assert "| config | seeds | square | triangle | cross |" in md
    assert f"| yolov5n | 0 1 | {rows['yolov5n']['AP50_square']} / {rows['yolov5n']['AP50-95_square']} |" in md
    assert "No per-class AP for yolov5n-se (1 of 2 runs without per_class.json)" in md


def test_compare_without_per_class_says_so(tmp_path):
    _fake_run(tmp_path / "b0", "yolov5n.yaml", 0, 0.30)
    res = compare(tmp_path, latency_runs=0)
    header = res["files"]["csv"].read_text().splitlines()[0]
    assert not [c for c in header.split(",") if c.startswith(("AP50_", "AP50-95_", "per_class"))]
    assert "No per-class AP in this group: yolov5n (1 of 1 runs without per_class.json)" in res["markdown"]


@pytest.mark.slow
def test_a_training_run_records_ultralytics_per_class_ap(tmp_path):
    """A 1-epoch run writes per_class.json; it equals ultralytics' own validation of the run's best.pt, and
    val_attn's metrics.json lists the same."""
    from ultralytics import YOLO

    from yolo_attn.data.synthetic import make_dataset
    from yolo_attn.engine.train import train
    from yolo_attn.engine.val import validate

    data = make_dataset(tmp_path / "data", n_train=16, n_val=8, imgsz=64)
    [run] = train("yolov5n.yaml", str(data), project=str(tmp_path / "runs"), name="exp", epochs=1, imgsz=64, batch=8,
                  workers=0, plots=False)
    recorded = json.loads((run / PER_CLASS_FILE).read_text())["per_class"]
    m = YOLO(str(run / "weights" / "best.pt")).val(data=str(data), imgsz=64, batch=8, workers=0, plots=False,
                                                     project=str(tmp_path / "val"), rect=True)
    names = m.names
    assert recorded == {names[int(c)]: {"mAP50": pytest.approx(float(m.box.ap50[i]), abs=1e-9),
                                        "mAP50-95": pytest.approx(float(m.box.ap[i]), abs=1e-9)}
                        for i, c in enumerate(m.box.ap_class_index)}
    assert set(recorded) == {names[int(c)] for c in m.box.ap_class_index} and recorded
    out = validate(str(run / "weights" / "best.pt"), project=str(tmp_path / "val"), name="v", plots=False, batch=8)
    assert json.loads((tmp_path / "val" / "v" / "metrics.json").read_text())["per_class"] == out["per_class"]
    assert set(out["per_class"]) == set(recorded)


def test_per_class_is_written_before_the_final_validations_reports(tmp_path):
    """In a Tune search the final validation's Ray Tune report can be where the scheduler stops the trial, and nothing
    after that report runs: per_class.json is written by the first on_fit_epoch_end callback, only during the final
    validation (``_in_final_eval``), not after each epoch."""
    from yolo_attn.data.embedded import embedded_dataset
    from yolo_attn.engine.trainers import AttnDetectionTrainer, _per_class_at_final_eval

    t = AttnDetectionTrainer(overrides={"model": "yolov5n.yaml", "data": str(embedded_dataset("shapes")), "epochs": 1,
                                        "imgsz": 64, "device": "cpu", "project": str(tmp_path), "name": "t"})
    assert t.callbacks["on_fit_epoch_end"][0] is _per_class_at_final_eval
    written = []
    t._write_per_class = lambda: written.append(True)
    _per_class_at_final_eval(t)  # an ordinary epoch's end: nothing
    assert written == []
    t._in_final_eval = True
    _per_class_at_final_eval(t)
    assert written == [True]

"""The anchor-based head as a yaml layer (fast): routing, outputs, attention placements, --anchors checks, grouping."""

import subprocess
import sys
from pathlib import Path

import pytest
import torch

from conftest import subprocess_env
from yolo_attn.graph.anchors import P5_ANCHORS, P6_ANCHORS, anchor_cfg, load_model_dict
from yolo_attn.anchor.head import AnchorDetect
from yolo_attn.anchor.model import AnchorDetectionModel

REPO = Path(__file__).resolve().parents[2]


def test_yolov5_format_yaml_builds_the_anchor_model_through_ultralytics(tmp_path):
    """YOLO("...yaml") with anchors: and Detect, [nc, anchors] (the TypeError of the issue) builds our head and model."""
    from ultralytics import YOLO

    cfg = anchor_cfg("yolov5n.yaml", tmp_path)
    model = YOLO(str(cfg)).model
    assert type(model) is AnchorDetectionModel and isinstance(model.model[-1], AnchorDetect)
    head = model.model[-1]
    assert (head.nl, head.na, head.no, head.nc) == (3, 3, 85, 80)
    assert head.stride.tolist() == [8.0, 16.0, 32.0] and model.stride.tolist() == [8.0, 16.0, 32.0]
    pixels = head.anchors * head.stride.view(-1, 1, 1)  # stored in grid units, as YOLOv5 does
    torch.testing.assert_close(pixels, torch.tensor(P5_ANCHORS, dtype=torch.float32).view(3, 3, 2))
    assert [k for k in model.state_dict() if k.startswith("model.24.")] == [
        "model.24.anchors", "model.24.m.0.weight", "model.24.m.0.bias", "model.24.m.1.weight", "model.24.m.1.bias",
        "model.24.m.2.weight", "model.24.m.2.bias"]  # YOLOv5's names for the head of yolov5n
    x = torch.rand(2, 3, 96, 64)
    model.train()
    maps = model(x)
    assert [tuple(m.shape) for m in maps] == [(2, 3, 12, 8, 85), (2, 3, 6, 4, 85), (2, 3, 3, 2, 85)]
    model.eval()
    y, raw = model(x)
    assert y.shape == (2, 84, 3 * (96 * 64 // 64 + 96 * 64 // 256 + 96 * 64 // 1024))
    assert (y[:, 4:] >= 0).all() and (y[:, 4:] <= 1).all()
    p = raw[0][0, 1, 2, 3].sigmoid()  # level 0, anchor 1, cell y=2 x=3: row (1 * 12 + 2) * 8 + 3 of level 0
    row = y[0, :, (1 * 12 + 2) * 8 + 3]
    torch.testing.assert_close(row[0], (p[0] * 2 + 3 - 0.5) * 8)
    torch.testing.assert_close(row[3], (p[3] * 2) ** 2 * 30.0)  # anchor 1 of P3 is 16 x 30 px
    torch.testing.assert_close(row[4:], p[4] * p[5:])  # objectness x class probability


def test_loss_items_named_as_yolov5(tmp_path):
    model = AnchorDetectionModel(load_model_dict(anchor_cfg("yolov5n.yaml", tmp_path)), nc=3, verbose=False)
    batch = {"img": torch.rand(2, 3, 64, 64), "batch_idx": torch.tensor([0.0, 1.0]), "cls": torch.tensor([[0.0], [2.0]]),
             "bboxes": torch.tensor([[0.5, 0.5, 0.3, 0.2], [0.3, 0.6, 0.1, 0.4]])}
    total, items = model.loss(batch)
    assert list(items) == ["box_loss", "obj_loss", "cls_loss"]
    torch.testing.assert_close(total.view(()), sum(items.values()) * 2)
    total.backward()
    assert model.model[-1].m[0].weight.grad.abs().sum() > 0


@pytest.mark.parametrize("cfg,levels,strides,anchors", [
    ("yolov5n-p6.yaml", 4, [8, 16, 32, 64], P6_ANCHORS),
    ("yolov5s-ema.yaml", 3, [8, 16, 32], P5_ANCHORS),
])
def test_anchors_flag_gives_yolov5_default_anchors_per_level_set(tmp_path, cfg, levels, strides, anchors):
    path = anchor_cfg(cfg, tmp_path)
    assert path.name == cfg.replace(".yaml", "-anchors.yaml")
    d = load_model_dict(path)
    assert d["anchors"] == anchors and d["head"][-1][2:] == ["Detect", ["nc", "anchors"]]
    model = AnchorDetectionModel(d, verbose=False)
    head = model.model[-1]
    assert head.nl == levels and head.stride.tolist() == strides and head.anchors.shape == (levels, 3, 2)


def test_p2_yaml_of_yolov5_keeps_its_anchor_count(tmp_path, yolov5_ref):
    path = anchor_cfg(yolov5_ref / "yolov5" / "models" / "hub" / "yolov5-p2.yaml", tmp_path)
    d = load_model_dict(path)
    assert path.name == "yolov5-p2-anchors.yaml" and d["anchors"] == 3  # YOLOv5 computes P2 anchors from the data
    head = AnchorDetectionModel(d, verbose=False).model[-1]
    assert head.stride.tolist() == [4, 8, 16, 32] and head.anchors.shape == (4, 3, 2)


def test_depth_and_width_multiples_of_a_yolov5_yaml_are_used(tmp_path):
    import yaml

    src = REPO / "yolo_attn" / "yaml" / "yolov5-se.yaml"
    d = yaml.safe_load(src.read_text())
    d.pop("scales")
    d.update(depth_multiple=0.33, width_multiple=0.25, anchors=P5_ANCHORS)
    d["head"][-1][3] = ["nc", "anchors"]
    (tmp_path / "my.yaml").write_text(yaml.safe_dump(d, sort_keys=False))
    a = AnchorDetectionModel(load_model_dict(tmp_path / "my.yaml"), verbose=False)
    b = AnchorDetectionModel(load_model_dict(anchor_cfg("yolov5n-se.yaml", tmp_path)), verbose=False)
    assert sum(p.numel() for p in a.parameters()) == sum(p.numel() for p in b.parameters())  # n = 0.33 / 0.25


def test_insert_attention_keeps_anchors_and_the_head_inputs(tmp_path):
    from yolo_attn import insert_attention

    base = load_model_dict(anchor_cfg("yolov5n.yaml", tmp_path))
    d = insert_attention(anchor_cfg("yolov5n.yaml", tmp_path), "SE", "neck")
    assert d["anchors"] == P5_ANCHORS
    f, _, name, args = d["head"][-1]
    assert name == "Detect" and args == ["nc", "anchors"] and f != base["head"][-1][0]  # reads the SE outputs
    plain = AnchorDetectionModel(base, verbose=False)
    se = AnchorDetectionModel(d, verbose=False)
    head = se.model[-1]
    assert isinstance(head, AnchorDetect) and [se.model[j].type.endswith("SE") for j in head.f] == [True] * 3
    torch.testing.assert_close(head.anchors, plain.model[-1].anchors)
    assert sum(p.numel() for p in se.parameters()) > sum(p.numel() for p in plain.parameters())


def test_attn_flag_then_anchors_writes_an_anchor_yaml(tmp_path):
    from yolo_attn.graph.placement import generate_cfg

    gen = generate_cfg("yolov5n.yaml", "CBAM", ["neck"], [], tmp_path / "cfg")
    path = anchor_cfg(gen, tmp_path / "cfg")
    assert path.name == gen.stem + "-anchors.yaml" and load_model_dict(path)["anchors"] == P5_ANCHORS


@pytest.mark.parametrize("cfg", ["yolov8n.yaml", "yolo11n.yaml", "yolo26n.yaml"])
def test_anchors_on_other_families_is_one_clear_error(tmp_path, cfg):
    r = subprocess.run([sys.executable, str(REPO / "train_attn.py"), "--cfg", cfg, "--anchors", "--epochs", "1",
                        "--project", str(tmp_path / "runs")], cwd=tmp_path, env=subprocess_env(), capture_output=True,
                       text=True, timeout=300)
    assert r.returncode == 2, r.stdout + r.stderr
    err = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert len(err) == 1 and err[0].startswith("error: --anchors --cfg " + cfg), r.stderr
    assert "not a YOLOv5-family config" in err[0] and "Traceback" not in r.stderr
    assert not any((tmp_path / "runs").glob("*/weights"))  # no run folder


def test_yolov5_only_settings_without_an_anchor_head_are_refused(tmp_path):
    from yolo_attn.errors import UsageError
    from yolo_attn.engine.train import train

    with pytest.raises(UsageError, match=r"obj=0.7: YOLOv5 settings of the anchor-based head.*add --anchors"):
        train("yolov5n.yaml", project=str(tmp_path / "runs"), obj=0.7)
    with pytest.raises(UsageError, match=r"one row of pixel \(w, h\) pairs per head level \(3 levels\)"):
        train("yolov5n.yaml", project=str(tmp_path / "runs"), anchors=[[10, 13, 16, 30]])


def test_compare_never_groups_anchor_and_v5u_runs(tmp_path):
    """Same data, size, epochs and initialisation: the head alone splits the groups."""
    import yaml

    from yolo_attn.analysis.compare import find_runs, summarise

    models = {"v5u": ("yolov5n.yaml", None), "anchor": ("yolov5n-anchors.yaml", anchor_cfg("yolov5n.yaml", tmp_path))}
    for kind, (name, path) in models.items():
        run = tmp_path / "runs" / kind
        (run / "weights").mkdir(parents=True)
        from ultralytics.nn.tasks import DetectionModel

        net = DetectionModel(str(path) if path else name, nc=4, verbose=False)
        torch.save({"model": net, "epoch": -1}, run / "weights" / "best.pt")
        (run / "args.yaml").write_text(yaml.safe_dump({"task": "detect", "mode": "train", "model": name, "data": "d.yaml",
                                                       "imgsz": 64, "epochs": 1, "seed": 0, "pretrained": True}))
        (run / "results.csv").write_text("epoch,metrics/mAP50(B),metrics/mAP50-95(B)\n1,0.5,0.3\n")
    runs = find_runs(tmp_path / "runs")
    assert sorted(r.head for r in runs) == ["anchor", "v5u"]
    rows = summarise(runs, latency_runs=0)
    assert len({r["group"] for r in rows}) == 2 and sorted(r["head"] for r in rows) == ["anchor", "v5u"]

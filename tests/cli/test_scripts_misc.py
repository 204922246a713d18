"""Entry points with no other test: ``python -m yolo_attn`` and ``python -m yolo_attn.data.coco``."""

import json
import re
import subprocess
import sys

from PIL import Image

import yolo_attn
from conftest import subprocess_env


def test_python_m_yolo_attn_lists_modules_and_builds_every_config():
    r = subprocess.run([sys.executable, "-m", "yolo_attn", "--scale", "n", "--imgsz", "64"], capture_output=True,
                       text=True, env=subprocess_env(), timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    out = r.stdout + r.stderr
    names = sorted(n for n, c in yolo_attn.ATTENTION_REGISTRY.items() if c.__module__.startswith("yolo_attn."))
    assert f"yolo_attn {yolo_attn.__version__}: 14 attention modules registered: {', '.join(names)}" in out
    params = {m[1]: int(m[2].replace(",", "")) for m in re.finditer(r"(YOLOv5n[\w-]*) summary: \d+ layers, ([\d,]+) parameters", out)}
    expected = ["YOLOv5n"] + [c.replace("yolov5", "YOLOv5n", 1)[:-5] for c in yolo_attn.shipped_configs()]
    assert sorted(params) == sorted(expected)  # every shipped config built at the asked scale
    plain = params.pop("YOLOv5n")
    assert params["YOLOv5n-se"] - plain == 2 * 256 * (256 // 16)  # SE(256, 16): two bias-free linears
    assert params.pop("YOLOv5n-simam") == plain  # parameter-free
    assert all(p > plain for p in params.values())


def _coco_set(tmp_path):
    imgs = tmp_path / "minival"
    imgs.mkdir()
    Image.new("RGB", (100, 50)).save(imgs / "a.jpg")
    gt = {"images": [{"id": 7, "file_name": "a.jpg", "width": 100, "height": 50}],
          "categories": [{"id": 3, "name": "car"}],
          "annotations": [{"id": 1, "image_id": 7, "category_id": 3, "bbox": [10, 5, 20, 10], "area": 200, "iscrowd": 0}]}
    ann = tmp_path / "instances_minival.json"
    ann.write_text(json.dumps(gt))
    return ann, imgs


def test_coco_converter_cli(tmp_path):
    ann, imgs = _coco_set(tmp_path)
    dst = tmp_path / "coco"
    cmd = [sys.executable, "-m", "yolo_attn.data.coco", str(ann), str(imgs), str(dst), "--split", "mini"]
    r = subprocess.run(cmd, capture_output=True, text=True, env=subprocess_env(), timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    assert f"mini: 1 images, 1 boxes, 1 classes -> {dst / 'mini.yaml'}" in r.stdout
    assert (dst / "labels" / "mini" / "a.txt").read_text() == "0 0.200000 0.200000 0.200000 0.200000\n"
    assert (dst / "annotations" / "instances_mini.json").is_file()

    r = subprocess.run(cmd[:3] + [str(tmp_path / "missing.json"), str(imgs), str(dst)], capture_output=True, text=True,
                       env=subprocess_env(), timeout=300)
    assert r.returncode == 2 and r.stderr.startswith("error: ") and "missing.json" in r.stderr
    assert "Traceback" not in r.stderr

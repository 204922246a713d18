"""Every layer whose output no later layer reads warns at build time (issue 21 item 1): a hand-inserted row with the
later absolute indices left stale builds, but the shifted last C2f is named with the row that probably meant it."""

import copy
import subprocess
import sys

import pytest
import yaml
from ultralytics.nn.tasks import yaml_model_load
from ultralytics.utils import LOGGER

from conftest import LoggerLines, subprocess_env
from yolo_attn.graph.checks import check_graph


def _stale_yolov8n() -> dict:
    """yolov8n with [-1, 1, SimAM, []] inserted after layer 12, every later index left as it was."""
    d = copy.deepcopy(yaml_model_load("yolov8n.yaml"))
    nb = len(d["backbone"])
    d["head"].insert(12 - nb + 1, [-1, 1, "SimAM", []])
    return d


def test_stale_indices_warn_naming_the_unread_layer_and_the_row_that_meant_it():
    d = _stale_yolov8n()
    warnings = check_graph(d)
    assert len(warnings) == 1, warnings
    w = warnings[0]
    assert w.startswith("yolov8n.yaml: layer 22 [-1, 3, 'C2f', [1024]]: the C2f output (layer 22) is read by no")
    assert "rows that probably meant it: layer 23 Detect (from [15, 18, 21])" in w
    assert "stale index" in w


def test_the_warning_comes_at_build_time(tmp_path):
    from ultralytics import YOLO

    f = tmp_path / "yolov8n-stale.yaml"
    d = _stale_yolov8n()
    f.write_text(yaml.safe_dump({k: v for k, v in d.items() if k in ("nc", "scales", "backbone", "head")}))
    h = LoggerLines()
    LOGGER.addHandler(h)
    try:
        YOLO(str(f))
    finally:
        LOGGER.removeHandler(h)
    hits = [x for x in h.lines if "layer 22 " in x and "read by no later layer" in x]
    assert hits and "C2f" in hits[0] and "layer 23 Detect" in hits[0]


@pytest.mark.parametrize("base", ["yolov5n.yaml", "yolov5s.yaml", "yolov8n.yaml", "yolo11n.yaml", "yolov8n-p2.yaml",
                                  "yolov8n-p6.yaml", "yolov5n-p6.yaml"])
def test_generated_placements_and_plain_bases_do_not_warn(base):
    from yolo_attn.graph.placement import insert_attention

    assert check_graph(yaml_model_load(base)) == []
    for at in ("backbone", "stages", "neck", ["backbone", "neck"]):
        assert check_graph(insert_attention(base, "SimAM", at)) == [], (base, at)


def test_shipped_yamls_do_not_warn():
    from yolo_attn.plugin.hook import CONFIG_DIR

    files = sorted(CONFIG_DIR.rglob("*.yaml"))
    assert len(files) >= 13
    for f in files:
        assert check_graph(yaml_model_load(str(f))) == [], f


def test_yolo_world_image_pooling_is_not_an_unread_layer():
    """YOLO-World's ImagePoolingAttn feeds the text features in the forward, outside 'from'."""
    assert check_graph(yaml_model_load("yolov8s-world.yaml")) == []


def test_building_a_shipped_config_is_silent():
    r = subprocess.run([sys.executable, "-c", "import yolo_attn; from ultralytics import YOLO; YOLO('yolov8n.yaml'); "
                        "YOLO('yolov5n-se.yaml', task='detect')"], capture_output=True, text=True, timeout=300,
                       env=subprocess_env())
    assert r.returncode == 0, r.stderr[-2000:]
    assert "WARNING" not in r.stdout + r.stderr, (r.stdout, r.stderr)

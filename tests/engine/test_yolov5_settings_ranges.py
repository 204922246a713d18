"""YOLOv5-only settings and anchors out of range (issue 26): one ``error:`` line naming the setting and its valid
range, exit 2, nothing written (no run folder, no ``cfg/...-anchors.yaml``)."""

import importlib.util
from pathlib import Path

import pytest

from yolo_attn.graph.anchors import anchor_cfg
from yolo_attn.anchor.hyp import check_yolov5_hyp, split_yolov5_only
from yolo_attn.cli.guard import main_guard
from yolo_attn.errors import UsageError

REPO = Path(__file__).resolve().parents[2]


def _train_attn():
    spec = importlib.util.spec_from_file_location("train_attn", REPO / "train_attn.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


# setting as written -> what the message says of the valid values (the setting itself is named too, quoted if text)
BAD_SETTINGS = {
    "anchor_t=-4": "(1, 1000]", "anchor_t=0": "(1, 1000]", "anchor_t=1": "(1, 1000]", "anchor_t=abc": "must be a number",
    "obj=abc": "[0, 1000]", "obj=-1": "[0, 1000]", "iou_t=2": "(0, 1]", "label_smoothing=1": "[0, 1)",
}


@pytest.mark.parametrize("word", BAD_SETTINGS)
def test_bad_yolov5_setting_is_one_error_line_and_nothing_written(tmp_path, capsys, word):
    code = main_guard(_train_attn().main, ["--cfg", "yolov5n.yaml", "--anchors", "--epochs", "1", "--imgsz", "64",
                                           "--project", str(tmp_path / "runs"), word])
    out, err = capsys.readouterr()
    errors = [ln for ln in (out + err).splitlines() if ln.startswith("error:")]
    assert code == 2 and len(errors) == 1 and "Traceback" not in err, (out, err[-2000:])
    key, value = word.split("=")
    named = word if value[-1].isdigit() else f"{key}='{value}'"
    assert named in errors[0] and BAD_SETTINGS[word] in errors[0], errors[0]
    assert not (tmp_path / "runs").exists()  # no cfg/yolov5n-anchors.yaml, no run folder


def test_good_values_pass_and_are_popped():
    o = {"anchor_t": 4.0, "obj": 0.7, "fl_gamma": 0.0, "lr0": 0.01}
    assert split_yolov5_only(o) == {"anchor_t": 4.0, "obj": 0.7, "fl_gamma": 0.0} and o == {"lr0": 0.01}
    assert check_yolov5_hyp({"noautoanchor": True, "anchor_t": 2}) == {"noautoanchor": True, "anchor_t": 2}
    bad = {"anchor_t": 0, "lr0": 0.01}
    with pytest.raises(UsageError):
        split_yolov5_only(bad)
    assert bad == {"anchor_t": 0, "lr0": 0.01}  # nothing popped on a refusal


@pytest.mark.parametrize("anchors, words", [
    (0, ["anchors 0", "1 to 20"]),
    (-3, ["anchors -3", "1 to 20"]),
    (100000, ["anchors 100000", "1 to 20"]),
    ([[10, 13, 16, 30, 33, 23], [30, 61, 62, 45, 59, 119], [116, 90, 156, -198, 373, 326]], ["anchor size -198"]),
    ([[10, 13] * 21] * 3, ["21 anchors per level"]),
])
def test_bad_anchors_argument_writes_no_config(tmp_path, anchors, words):
    with pytest.raises(UsageError) as e:
        anchor_cfg("yolov5n.yaml", tmp_path / "cfg", anchors)
    assert all(w in str(e.value) for w in words), str(e.value)
    assert not (tmp_path / "cfg").exists()

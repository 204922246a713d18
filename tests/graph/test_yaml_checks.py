"""check_graph: bad ``from`` indices are ValueErrors naming the yaml, layer, row and fix (never a raw IndexError);
an attention row nothing reads is a warning naming the bypassing layers; train_attn.py --cfg reports both paths."""

import copy
import importlib.util
import shutil
from pathlib import Path

import pytest
from ultralytics.nn.tasks import yaml_model_load

from yolo_attn.engine.configs import resolve_cfgs
from yolo_attn.graph.checks import check_graph

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def se():
    return yaml_model_load("yolov5n-se.yaml")  # SE at 9, SPPF 10, head 11..25, Detect [18, 21, 24]


def _edit(d, i, f):
    d = copy.deepcopy(d)
    nb = len(d["backbone"])
    (d["backbone"][i] if i < nb else d["head"][i - nb])[0] = f
    return d


def test_shipped_and_plain_graphs_pass(se):
    assert check_graph(se) == []
    assert check_graph(yaml_model_load("yolo11n.yaml")) == []


@pytest.mark.parametrize("layer,f,why", [
    (25, [18, 21, 26], r"'from' index 26 points forward, to a layer built later \(resolves to 26\)"),  # Detect
    (25, [18, 21, 25], r"'from' index 25 points at the layer itself"),  # Detect self
    (25, [18, 21, 40], r"'from' index 40 points forward"),  # Detect out of range
    (13, [-1, 13], r"'from' index 13 points at the layer itself"),  # Concat self, list form
    (13, [-1, -14], r"'from' index -14 reaches before layer 0 \(resolves to -1\)"),  # Concat relative out of range
    (9, 9, r"'from' index 9 points at the layer itself"),  # attention row, int form
    (9, -10, r"'from' index -10 reaches before layer 0"),  # attention row, relative
    (9, 12, r"'from' index 12 points forward"),  # attention row, absolute forward
    (4, 0.5, r"'from' entry 0.5 is not an integer"),
    (0, 0, r"layer 0 .*'from' index 0 points at the layer itself .*valid here -1 \(the image input\)"),
])
def test_bad_from_is_a_clear_error(se, layer, f, why):
    with pytest.raises(ValueError, match=why) as e:
        check_graph(_edit(se, layer, f))
    msg = str(e.value)
    assert msg.startswith(f"yolov5n-se.yaml: layer {layer} [")  # names the yaml and the layer
    if layer:
        assert f"valid here -1..-{layer} (relative) or 0..{layer - 1} (absolute)" in msg and "insert_attention" in msg


def test_unread_attention_warns_naming_the_bypassing_layers(se, caplog):
    bad = _edit(se, 10, 8)  # SPPF reads the C3 at 8 instead of SE at 9
    warnings = check_graph(bad)
    assert len(warnings) == 1
    w = warnings[0]
    assert w.startswith("yolov5n-se.yaml: layer 9 [-1, 1, 'SE', [16]]: the SE output is read by no later layer")
    assert "layers [10] read its input (layer 8) directly, bypassing it" in w and "read layer 9" in w
    # a neck SE that Detect skips (Detect left at the old indices) also warns
    from yolo_attn.graph.placement import insert_attention

    d = insert_attention("yolov5n.yaml", "SE", [23])  # SE at 24, Detect [17, 20, 24]
    d["head"][-1][0] = [17, 20, 23]
    w = check_graph(d)
    assert len(w) == 1 and "layer 24 [-1, 1, 'SE', []]" in w[0] and "layers [25] read its input (layer 23)" in w[0]


def _train_cli(argv, capsys):
    from yolo_attn.cli.guard import main_guard

    spec = importlib.util.spec_from_file_location("train_attn", ROOT / "train_attn.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    rc = main_guard(mod.main, argv)
    return rc, capsys.readouterr().err


def test_cli_bad_from_is_one_error_line(tmp_path, capsys, se):
    src = (Path(__file__).resolve().parents[2] / "yolo_attn" / "yaml" / "yolov5-se.yaml").read_text()
    bad = tmp_path / "yolov5n-bad.yaml"
    bad.write_text(src.replace("[[18, 21, 24], 1, Detect", "[[18, 21, 26], 1, Detect"))
    rc, err = _train_cli(["--cfg", str(bad), "--project", str(tmp_path / "runs")], capsys)
    lines = [x for x in err.splitlines() if x.strip()]
    assert rc == 2 and len(lines) == 1 and lines[0].startswith(f"error: {bad}: layer 25 [[18, 21, 26], 1, 'Detect'")
    assert "points forward" in lines[0] and not (tmp_path / "runs").exists()


def test_cfg_path_with_scale_letter_resolves_from_another_cwd(tmp_path, monkeypatch):
    folder = tmp_path / "cfg"
    folder.mkdir()
    shutil.copy(ROOT / "yolo_attn" / "yaml" / "yolov5-se.yaml", folder / "yolov5-myneck.yaml")
    other = tmp_path / "elsewhere"
    other.mkdir()
    monkeypatch.chdir(tmp_path)
    assert resolve_cfgs("cfg/yolov5n-myneck.yaml") == ["cfg/yolov5n-myneck.yaml"]
    d = yaml_model_load("cfg/yolov5n-myneck.yaml")
    assert d["scale"] == "n" and len(d["backbone"]) == 11
    monkeypatch.chdir(other)
    path = str(folder / "yolov5s-myneck.yaml")  # absolute, scale s, from another working directory
    assert resolve_cfgs(path) == [path]
    from yolo_attn.errors import UsageError

    with pytest.raises(UsageError, match="no such model config"):
        resolve_cfgs("cfg/yolov5n-myneck.yaml")  # relative to the cwd, as for YOLO(): not here

"""Small inconsistencies a new user met (issue 21 item 10): the help's increment names match the folders, --scale
with an explicit --cfg is applied or refused (never ignored), write_model_yaml's naming advice names the model's
family, and the segmentation-set generator says what it wrote."""

import subprocess
import sys
from pathlib import Path

import pytest
from ultralytics.nn.tasks import yaml_model_load

from conftest import subprocess_env

ROOT = Path(__file__).resolve().parents[2]


def _script(name, *args, cwd):
    return subprocess.run([sys.executable, str(ROOT / name), *map(str, args)], capture_output=True, text=True, cwd=cwd,
                          timeout=300, env=subprocess_env(PYTHONPATH=str(ROOT)))


def test_visualize_help_names_the_folders_it_makes(tmp_path):
    from yolo_attn.analysis.visualize import save_dir

    first, second = save_dir(tmp_path, "exp"), save_dir(tmp_path, "exp")
    assert (first.name, second.name) == ("exp", "exp-2")
    text = " ".join(_script("visualize_attn.py", "--help", cwd=tmp_path).stdout.split())
    assert "exp-2, exp-3" in text and "exp2" not in text


@pytest.mark.parametrize("cfg, scale, expected", [
    ("yolov5.yaml", "s", ["yolov5s.yaml"]),
    ("yolov5-se.yaml", "m", ["yolov5m-se.yaml"]),
    ("yolov5-se", "s", ["yolov5s-se.yaml"]),
    ("yolov8.yaml,yolov5-simam.yaml", "s", ["yolov8s.yaml", "yolov5s-simam.yaml"]),
    ("yolov5n-se.yaml", "n", ["yolov5n-se.yaml"]),  # says the same scale: kept
    ("yolov5n-se.yaml", None, ["yolov5n-se.yaml"]),
])
def test_scale_is_applied_to_scale_less_names(cfg, scale, expected):
    from yolo_attn.engine.configs import resolve_cfgs

    assert resolve_cfgs(cfg, scale) == expected


def test_scale_contradicting_the_cfg_is_refused(tmp_path):
    from yolo_attn.engine.configs import UsageError, resolve_cfgs

    with pytest.raises(UsageError, match=r"--cfg yolov5n-se.yaml --scale s: the config name already says scale 'n'; "
                                         r"drop --scale, or give --cfg yolov5s-se.yaml"):
        resolve_cfgs("yolov5n-se.yaml", "s")
    mine = tmp_path / "mine.yaml"
    mine.write_text((ROOT / "yolo_attn" / "yaml" / "yolov5-se.yaml").read_text())
    with pytest.raises(UsageError, match=r"name the file like yolov5s-mine.yaml and drop --scale"):
        resolve_cfgs(str(mine), "s")
    assert resolve_cfgs("all", "s")[0] == "yolov5s.yaml" and resolve_cfgs("all")[0] == "yolov5n.yaml"


def test_train_attn_scale_with_cfg_is_one_error_line(tmp_path):
    r = _script("train_attn.py", "--cfg", "yolov5n-se.yaml", "--scale", "s", "--project", tmp_path / "runs", cwd=tmp_path)
    lines = [x for x in r.stderr.splitlines() if x.strip()]
    assert r.returncode == 2 and len(lines) == 1 and lines[0].startswith("error: --cfg yolov5n-se.yaml --scale s:")
    assert not (tmp_path / "runs").exists()


def test_train_attn_scale_applies_to_the_default_and_a_scale_less_cfg(monkeypatch, tmp_path):
    import yolo_attn.engine.train as ytrain

    seen = []
    monkeypatch.setattr(ytrain, "train_one", lambda cfg, data, **kw: seen.append(cfg) or tmp_path)
    monkeypatch.setattr(ytrain, "resolve_data", lambda data: str(data))
    ytrain.train("yolov5-se.yaml", "d.yaml", project=str(tmp_path), scale="s")
    ytrain.train(None, "d.yaml", project=str(tmp_path), scale="s")
    assert seen == ["yolov5s-se.yaml", "yolov5s-simam.yaml"]


@pytest.mark.parametrize("base, advice", [("yolov8n.yaml", "yolov8n-....yaml"), ("yolo11s.yaml", "yolo11s-....yaml"),
                                          ("yolov5n.yaml", "yolov5n-....yaml")])
def test_write_model_yaml_advice_names_the_family(tmp_path, base, advice):
    from yolo_attn.graph.placement import insert_attention, write_model_yaml

    for d in (yaml_model_load(base), insert_attention(base, "SE", "neck")):
        with pytest.raises(ValueError, match=rf"name it like {advice.replace('.', '[.]')}$"):
            write_model_yaml(d, tmp_path / "mine.yaml")


def test_shapes_seg_generator_says_what_it_wrote(tmp_path):
    r = subprocess.run([sys.executable, "-m", "yolo_attn.data.shapes_seg", str(tmp_path / "seg"), "--n-train", "3",
                        "--n-val", "2", "--imgsz", "64"], capture_output=True, text=True, timeout=300,
                       env=subprocess_env(PYTHONPATH=str(ROOT)))
    assert r.returncode == 0, r.stderr[-2000:]
    lines = r.stdout.splitlines()
    seg = tmp_path / "seg"
    assert lines[0].startswith(f"train: 3 images, ") and lines[0].endswith(f"polygons -> {seg / 'images' / 'train'}, "
                                                                            f"{seg / 'labels' / 'train'}")
    n = sum(len(f.read_text().splitlines()) for f in (seg / "labels" / "train").glob("*.txt"))
    assert f"train: 3 images, {n} polygons" in lines[0]
    assert lines[1].startswith("val: 2 images, ") and lines[2] == f"dataset yaml: {seg / 'shapes-seg.yaml'}"

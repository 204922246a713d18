"""visualize_attn.py saves to --project/--name like YOLOv5's detect.py (incremented unless --exist-ok); --out kept."""

import cv2
import numpy as np
import pytest

import visualize_attn
from yolo_attn.cli.guard import main_guard


@pytest.fixture(scope="module")
def ckpt_and_image(tmp_path_factory):
    from ultralytics import YOLO

    tmp = tmp_path_factory.mktemp("vis")
    YOLO("yolov5n-se.yaml").save(tmp / "se.pt")  # untrained weights are enough to draw the maps
    image = tmp / "img.png"
    cv2.imwrite(str(image), np.random.RandomState(0).randint(0, 255, (64, 64, 3), dtype=np.uint8))
    return tmp / "se.pt", image


def _vis(ckpt, image, *args):
    return main_guard(visualize_attn.main, ["--weights", str(ckpt), "--source", str(image), "--imgsz", "64", *map(str, args)])


def test_project_name_increments_unless_exist_ok(ckpt_and_image, tmp_path, capsys):
    ckpt, image = ckpt_and_image
    project = tmp_path / "attention"
    assert _vis(ckpt, image, "--project", project, "--name", "exp") == 0
    assert _vis(ckpt, image, "--project", project, "--name", "exp") == 0
    assert f"files saved to {project / 'exp-2'}" in capsys.readouterr().out
    assert sorted(p.name for p in project.iterdir()) == ["exp", "exp-2"]
    assert _vis(ckpt, image, "--project", project, "--name", "exp", "--exist-ok") == 0
    assert sorted(p.name for p in project.iterdir()) == ["exp", "exp-2"]
    for run in ("exp", "exp-2"):
        assert sorted(p.name for p in (project / run / "img").iterdir()) == [
            "attention_values.npz", "contact_sheet.png", "layer09_SE.png"]


def test_default_is_runs_attention_exp(ckpt_and_image, tmp_path, monkeypatch):
    ckpt, image = ckpt_and_image
    monkeypatch.chdir(tmp_path)
    assert _vis(ckpt, image) == 0
    assert (tmp_path / "runs" / "attention" / "exp" / "img" / "contact_sheet.png").is_file()


def test_out_writes_to_exactly_that_folder(ckpt_and_image, tmp_path):
    ckpt, image = ckpt_and_image
    assert _vis(ckpt, image, "--out", tmp_path / "mine") == 0
    assert _vis(ckpt, image, "--out", tmp_path / "mine") == 0  # again: same folder, no increment
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mine"]
    assert (tmp_path / "mine" / "img" / "layer09_SE.png").is_file()


def test_a_failed_run_leaves_no_empty_folder(ckpt_and_image, tmp_path, capsys):
    ckpt, _ = ckpt_and_image
    (tmp_path / "empty").mkdir()
    assert _vis(ckpt, tmp_path / "empty", "--project", tmp_path / "attention") == 2
    assert "no images" in capsys.readouterr().err
    assert not any((tmp_path / "attention").iterdir())

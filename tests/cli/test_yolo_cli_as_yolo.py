"""``yolo-attn`` behaves as ultralytics' ``yolo`` and agrees with train_attn.py (issue 21 items 2, 4, 5, 6):
predict saves its annotated image; the embedded sets answer to their names and ``train`` without data= uses the demo
set; a refused dataset leaves no run folder; an unknown setting is one ``error:`` line, exit 2."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from conftest import subprocess_env
from yolo_attn.data.synthetic import make_dataset

ROOT = Path(__file__).resolve().parents[2]


def _run(cmd, cwd, **env):
    return subprocess.run(cmd, capture_output=True, text=True, cwd=cwd, timeout=900,
                          env=subprocess_env(PYTHONPATH=str(ROOT), **env))


def _module(*args, cwd, **env):
    return _run([sys.executable, "-m", "yolo_attn.cli.yolo", *map(str, args)], cwd, **env)


def _console(*args, cwd, **env):
    """The installed ``yolo-attn`` console script (next to this interpreter), as a user types it."""
    exe = Path(sys.executable).with_name("yolo-attn")
    assert exe.is_file(), f"{exe}: the package's console script is not installed in this environment"
    return _run([str(exe), *map(str, args)], cwd, **env)


@pytest.fixture(scope="module")
def image(tmp_path_factory):
    data = make_dataset(tmp_path_factory.mktemp("img") / "shapes", n_train=2, n_val=1, imgsz=64)
    return data.parent / "images" / "val" / "000000.png"


@pytest.mark.parametrize("how", [_console, _module])
def test_predict_saves_the_annotated_image_like_yolo(how, image, tmp_path):
    """No save=True: plain ``yolo predict`` saves by default (it is "the CLI"), and so must yolo-attn."""
    r = how("predict", "model=yolov5n-se.yaml", f"source={image}", "imgsz=64", f"project={tmp_path / 'P'}", "name=N",
            cwd=tmp_path)
    assert r.returncode == 0, r.stderr[-3000:]
    out = tmp_path / "P" / "N" / "000000.jpg"
    assert out.is_file() and out.stat().st_size > 0, sorted(tmp_path.rglob("*"))


def test_unknown_setting_is_one_error_line_naming_the_fix(tmp_path):
    r = _console("train", "model=yolov5n-se.yaml", "lr=0.001", f"project={tmp_path / 'runs'}", cwd=tmp_path)
    lines = [x for x in (r.stdout + r.stderr).splitlines() if x.strip()]
    assert r.returncode == 2, (r.stdout, r.stderr)
    assert len(lines) == 1 and lines[0].startswith("error: 'lr' is not a valid YOLO argument") and "lr0" in lines[0]
    assert not (tmp_path / "runs").exists()


def test_help_is_still_printed(tmp_path):
    r = _module("help", cwd=tmp_path)
    assert r.returncode == 0 and "yolo TASK MODE ARGS" in r.stdout + r.stderr


def test_refused_dataset_leaves_no_run_folder(tmp_path):
    """A dataset yaml whose images do not exist: ultralytics refuses it after making train/ (args.yaml, weights/)."""
    bad = tmp_path / "bad.yaml"
    bad.write_text(f"path: {tmp_path / 'nowhere'}\ntrain: images/train\nval: images/val\nnames: [a, b]\n")
    (tmp_path / "runs").mkdir()
    (tmp_path / "runs" / "keep").mkdir()  # an earlier run: untouched
    r = _module("train", "model=yolov5n-se.yaml", f"data={bad}", "epochs=1", "imgsz=64", "device=cpu",
                f"project={tmp_path / 'runs'}", "name=t", cwd=tmp_path)
    assert r.returncode != 0
    assert sorted(p.name for p in (tmp_path / "runs").iterdir()) == ["keep"], sorted((tmp_path / "runs").rglob("*"))


@pytest.fixture(scope="module")
def small_sets(tmp_path_factory):
    """Tiny embedded sets: the generators' defaults patched through YOLO_ATTN_DATASETS are not enough (the folder
    names spell the defaults), so a child process patches the defaults before running yolo-attn."""
    return tmp_path_factory.mktemp("sets")


_PATCHED = (
    "import sys, yolo_attn.data.synthetic as s, yolo_attn.data.shapes_seg as g; "
    "s.DEFAULTS.update(n_train=4, n_val=2, imgsz=64); "
    "from yolo_attn.cli.yolo import main; sys.exit(main(sys.argv[1:]))"
)


def _patched(*args, cwd, datasets):
    return _run([sys.executable, "-c", _PATCHED, *map(str, args)], cwd, YOLO_ATTN_DATASETS=str(datasets))


@pytest.mark.slow
def test_train_without_data_uses_the_demo_set_and_val_data_shapes_runs(small_sets, tmp_path):
    r = _patched("train", "model=yolov5n-se.yaml", "epochs=1", "imgsz=64", "batch=4", "workers=0", "device=cpu",
                 "plots=False", f"project={tmp_path / 'runs'}", "name=demo", cwd=tmp_path, datasets=small_sets)
    assert r.returncode == 0, r.stderr[-3000:]
    assert "coco8" not in r.stdout + r.stderr
    best = tmp_path / "runs" / "demo" / "weights" / "best.pt"
    ckpt = torch.load(best, map_location="cpu", weights_only=False)
    assert Path(ckpt["train_args"]["data"]).parent.parent == small_sets  # the demo set, generated under $YOLO_ATTN_DATASETS
    assert "shapes-4x2-64px-seed0" in ckpt["train_args"]["data"]
    r = _patched("val", f"model={best}", "data=shapes", "imgsz=64", "batch=4", f"project={tmp_path / 'val'}", "name=v",
                 cwd=tmp_path, datasets=small_sets)
    assert r.returncode == 0, r.stderr[-3000:]
    assert (tmp_path / "val" / "v").is_dir() and " all " in r.stdout + r.stderr

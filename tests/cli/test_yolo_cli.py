"""yolo-attn: ultralytics' yolo CLI with the plugin loaded (train, val, predict, export), run as a subprocess, and the
console script that an install of the package provides."""

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

from conftest import subprocess_env
from yolo_attn.data.synthetic import make_dataset

ROOT = Path(__file__).resolve().parents[2]


def _cli(*args, cwd):
    r = subprocess.run([sys.executable, "-m", "yolo_attn.cli.yolo", *map(str, args)], capture_output=True, text=True,
                       cwd=cwd, env=subprocess_env(PYTHONPATH=str(ROOT)), timeout=600)
    assert r.returncode == 0, (r.stdout[-2000:], r.stderr[-3000:])
    return r.stdout + r.stderr


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("cli")
    data = make_dataset(tmp / "shapes", n_train=8, n_val=4, imgsz=64)
    out = _cli("train", "model=yolov5n-se.yaml", f"data={data}", "epochs=1", "imgsz=64", "batch=4", "workers=0",
               "device=cpu", f"project={tmp / 'runs'}", "name=se", cwd=tmp)
    return tmp, data, tmp / "runs" / "se", out


@pytest.mark.slow
def test_train_builds_the_scaled_shipped_config_with_the_attn_trainer(trained):
    tmp, data, run, out = trained
    assert (run / "weights" / "best.pt").is_file() and (run / "results.csv").is_file()
    assert "YOLOv5n-se summary" in out or "yolov5n-se summary" in out.lower()
    import torch

    ckpt = torch.load(run / "weights" / "best.pt", map_location="cpu", weights_only=False)
    assert type(ckpt["model"].model[9]).__name__ == "SE"
    assert ckpt["model"].model[9].__module__ == "yolo_attn.models.se"
    assert ckpt["train_args"]["imgsz"] == 64


def test_train_picks_the_importable_trainer():
    from ultralytics import YOLO

    from yolo_attn.engine.trainers import TRAINERS, AttnDetectionTrainer, AttnSegmentationTrainer
    from yolo_attn.plugin.patches import use_attn_trainers

    use_attn_trainers(TRAINERS)
    assert YOLO("yolov5n-se.yaml")._smart_load("trainer") is AttnDetectionTrainer
    assert YOLO("yolov8n-seg.yaml")._smart_load("trainer") is AttnSegmentationTrainer
    assert YOLO("yolov8n-pose.yaml")._smart_load("trainer").__module__.startswith("ultralytics.")


@pytest.mark.slow
def test_val_predict_export(trained):
    tmp, data, run, _ = trained
    best = run / "weights" / "best.pt"
    out = _cli("val", f"model={best}", f"data={data}", "imgsz=64", "batch=4", f"project={tmp / 'val'}", "name=v",
               cwd=tmp)
    assert "all" in out and (tmp / "val" / "v").is_dir()
    image = data.parent / "images" / "val" / "000000.png"
    _cli("predict", f"model={best}", f"source={image}", "imgsz=64", "conf=0.0001", "save=True", "save_txt=True",
         f"project={tmp / 'pred'}", "name=p", cwd=tmp)
    assert (tmp / "pred" / "p" / "000000.jpg").is_file() and (tmp / "pred" / "p" / "labels" / "000000.txt").is_file()
    _cli("export", f"model={best}", "format=onnx", "imgsz=64", cwd=tmp)
    onnx_file = best.with_suffix(".onnx")
    import onnxruntime as ort

    session = ort.InferenceSession(str(onnx_file), providers=["CPUExecutionProvider"])
    (y,) = session.run(None, {session.get_inputs()[0].name: np.zeros((1, 3, 64, 64), np.float32)})
    assert y.shape == (1, 4 + 4, 8 * 8 + 4 * 4 + 2 * 2)  # (batch, box + 4 classes, anchors at strides 8/16/32)


def test_wheel_installs_the_console_script(tmp_path):
    """A built wheel declares yolo-attn = yolo_attn.cli.yolo:main and, found by importlib.metadata, it runs."""
    r = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w",
                        str(tmp_path), str(ROOT)], capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-2000:]
    wheel = next(tmp_path.glob("yolo_attn-*.whl"))
    z = zipfile.ZipFile(wheel)
    (eps,) = [n for n in z.namelist() if n.endswith(".dist-info/entry_points.txt")]
    assert "yolo-attn = yolo_attn.cli.yolo:main" in z.read(eps).decode()
    assert "yolo_attn/yaml/seg/yolov5-seg-se.yaml" in z.namelist()
    site = tmp_path / "site"
    z.extractall(site)
    code = ("import sys; from importlib.metadata import entry_points; "
            "(ep,) = entry_points(group='console_scripts', name='yolo-attn'); sys.argv = ['yolo-attn', 'version']; "
            "sys.exit(ep.load()())")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path,
                       env=subprocess_env(PYTHONPATH=str(site)), timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    import ultralytics

    assert r.stdout.strip().splitlines()[-1] == ultralytics.__version__


def test_installed_yolo_attn_command():
    """The environment's own install provides the command (fails, not skips, when the package was installed before
    the script existed: reinstall with pip install -e .)."""
    exe = shutil.which("yolo-attn") or shutil.which("yolo-attn", path=str(Path(sys.executable).parent))
    assert exe, "no yolo-attn command on PATH or beside python: reinstall the package (pip install -e .)"
    r = subprocess.run([exe, "version"], capture_output=True, text=True, env=subprocess_env(), timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]


def test_export_dependencies_are_installed_by_default():
    """README's install line (pip install -e .) brings onnx and onnxruntime; no '.[export]' extra is left (0.x: removed as a vestige)."""
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    deps = {d.split(">")[0].split("=")[0].strip() for d in project["dependencies"]}
    assert {"onnx", "onnxruntime"} <= deps
    assert "export" not in project["optional-dependencies"]
    assert project["scripts"]["yolo-attn"] == "yolo_attn.cli.yolo:main"

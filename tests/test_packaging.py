"""A plain (non-editable) install carries the configs and finds them from any working directory."""

import subprocess
import sys
import zipfile
from pathlib import Path

from conftest import subprocess_env

ROOT = Path(__file__).resolve().parents[1]

CHILD = """
import sys, yolo_attn
from ultralytics import YOLO
assert yolo_attn.__file__.startswith(sys.argv[1]), yolo_attn.__file__
model = YOLO("yolov5s-ema.yaml")
print("built", type(model.model.model[9]).__module__, len(yolo_attn.shipped_configs()))
"""


def test_wheel_contains_configs_and_works_outside_the_repo(tmp_path):
    r = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(tmp_path), str(ROOT)],
        capture_output=True, text=True, timeout=600,
    )
    assert r.returncode == 0, r.stderr[-2000:]
    wheel = next(tmp_path.glob("yolo_attn-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    for key in ("se", "cbam", "simam", "srm", "ema"):
        assert f"yolo_attn/yaml/yolov5-{key}.yaml" in names
    assert not any(n.startswith("tests/") for n in names)
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    work = tmp_path / "elsewhere"
    work.mkdir()
    r = subprocess.run([sys.executable, "-c", CHILD, str(site)], capture_output=True, text=True, cwd=work,
                       env=subprocess_env(PYTHONPATH=str(site)), timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    assert "built yolo_attn.models.ema" in r.stdout

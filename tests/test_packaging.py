"""A plain (non-editable) install carries the configs and finds them from any working directory."""

import subprocess
import sys
import zipfile
from pathlib import Path

import yolo_attn
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
    configs = sorted(n for n in names if n.startswith("yolo_attn/yaml/") and n.count("/") == 2)
    assert configs == sorted(f"yolo_attn/yaml/{c}" for c in yolo_attn.shipped_configs()) and len(configs) == 14
    assert "yolo_attn/yaml/seg/yolov5-seg-se.yaml" in names  # the segmentation config ships too
    for key in ("se", "cbam", "simam", "srm", "ema", "eca", "ca", "gam", "sa", "nam", "triplet", "gc", "bam"):
        assert f"yolo_attn/yaml/yolov5-{key}.yaml" in names
    # the reference code (seed and official) ships once, inside the package; no copy under tests/
    assert {"yolo_attn/reference/__init__.py", "yolo_attn/reference/seed.py", "yolo_attn/reference/official.py"} <= set(names)
    assert not any(n.startswith("tests/") for n in names)
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    work = tmp_path / "elsewhere"
    work.mkdir()
    r = subprocess.run([sys.executable, "-c", CHILD, str(site)], capture_output=True, text=True, cwd=work,
                       env=subprocess_env(PYTHONPATH=str(site)), timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    assert "built yolo_attn.models.ema" in r.stdout


def test_supported_ultralytics_equals_the_pyproject_pin():
    import tomllib

    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    pins = [d.split(";")[0].strip() for d in deps if d.startswith("ultralytics")]
    assert pins == [f"ultralytics{yolo_attn.SUPPORTED_ULTRALYTICS}"]
    from packaging.specifiers import SpecifierSet
    import ultralytics

    assert ultralytics.__version__ in SpecifierSet(yolo_attn.SUPPORTED_ULTRALYTICS)  # the tested version is in range


def test_no_reference_code_is_copied_into_the_tests():
    """The seed and official classes live in yolo_attn.reference only; tests import them."""
    tests = ROOT / "tests"
    for path in tests.glob("*.py"):
        text = path.read_text()
        for name in ("SElayer", "Simam_module", "SRMLayer", "EMA", "RefCoordAtt", "RefNAMChannel", "RefBAM"):
            assert f"\nclass {name}(" not in text, f"{path.name} copies the reference class {name}"

"""A mistyped ultralytics setting is one ``error:`` line with ultralytics' own suggestion, exit 2, no run folder and
no 70-line CLI help (issue 21 item 6)."""

import subprocess
import sys
from pathlib import Path

import pytest

from conftest import subprocess_env

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("script, args", [
    ("train_attn.py", ["--cfg", "yolov5n-se.yaml"]),
    ("val_attn.py", ["--weights", str(ROOT / "tests" / "fixtures" / "every-module-0.1.0.pt")]),
])
def test_lr_is_one_error_line_naming_lr0(tmp_path, script, args):
    r = subprocess.run([sys.executable, str(ROOT / script), *args, "--project", str(tmp_path / "runs"), "lr=0.001"],
                       capture_output=True, text=True, cwd=tmp_path, timeout=300, env=subprocess_env(PYTHONPATH=str(ROOT)))
    out = [x for x in (r.stdout + r.stderr).splitlines() if x.strip()]
    assert r.returncode == 2, (r.stdout, r.stderr[-3000:])
    assert out == ["error: lr=0.001: 'lr' is not a valid YOLO argument. Similar arguments are i.e. "
                   + out[0].split("i.e. ", 1)[1]], out
    assert "'lr0=0.01'" in out[0] and "'lrf=0.01'" in out[0]
    assert not (tmp_path / "runs").exists()


def test_pass_through_checks_every_key_at_once():
    from yolo_attn.cli.passthrough import UsageError, pass_through

    assert pass_through(["lr0=0.005", "mosaic=0.5"]) == {"lr0": 0.005, "mosaic": 0.5}
    with pytest.raises(UsageError) as e:
        pass_through(["lr0=0.005", "epoch=3", "lr=0.1"])
    msg = str(e.value)
    assert msg.startswith("epoch=3 lr=0.1: ") and "'epochs=100'" in msg and "'lr0=0.01'" in msg and "\n" not in msg

"""A saved model loads in a fresh Python process that never imports yolo_attn explicitly, with the same outputs."""

import subprocess
import sys
from copy import deepcopy

import pytest
import torch
from ultralytics import YOLO

from conftest import subprocess_env

CHILD = """
import sys, torch
path, mode, x_path, out_path = sys.argv[1:5]
assert "yolo_attn" not in sys.modules
if mode == "yolo":
    from ultralytics import YOLO
    model = YOLO(path).model
else:
    model = torch.load(path, weights_only=False)
assert "yolo_attn" in sys.modules  # imported by unpickling, not by us
names = {type(m).__module__ + "." + type(m).__name__ for m in model.modules()}
model.float().eval()
with torch.no_grad():
    y = model(torch.load(x_path))[0]
torch.save({"y": y, "names": sorted(names)}, out_path)
"""


@pytest.mark.parametrize("key, cls", [("ema", "EMA"), ("srm", "SRM"), ("cbam", "CBAM")])
@pytest.mark.parametrize("mode", ["yolo", "torch"])
def test_checkpoint_loads_in_fresh_process(tmp_path, key, cls, mode):
    model = YOLO(f"yolov5n-{key}.yaml")
    x = torch.rand(1, 3, 96, 96)
    path = tmp_path / f"m-{mode}.pt"
    if mode == "yolo":
        model.save(path)  # ultralytics checkpoint: weights stored in fp16
        reference = deepcopy(model.model).half().float().eval()
    else:
        torch.save(model.model, path)
        reference = deepcopy(model.model).eval()
    with torch.no_grad():
        y_ref = reference(x)[0]
    torch.save(x, tmp_path / "x.pt")
    out = tmp_path / "out.pt"
    r = subprocess.run([sys.executable, "-c", CHILD, str(path), mode, str(tmp_path / "x.pt"), str(out)],
                       capture_output=True, text=True, env=subprocess_env(), cwd=tmp_path, timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    result = torch.load(out)
    assert f"yolo_attn.models.{key}.{cls}" in result["names"]
    torch.testing.assert_close(result["y"], y_ref, atol=1e-5, rtol=1e-5)

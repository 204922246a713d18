"""A checkpoint trained with yolo_attn 0.1.0 keeps loading: class paths in checkpoints are forever.

tests/fixtures/every-module-0.1.0.pt holds all 13 modules (tests/fixtures/every-module-0.1.0.yaml), trained one epoch
by 0.1.0 before the package's files were rearranged; every-module-0.1.0.out.pt is its eval output on a fixed input,
computed by 0.1.0's code.
"""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import subprocess_env

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
CKPT = FIXTURES / "every-module-0.1.0.pt"

CHILD = """
import json, os, sys, torch
ckpt, expected_path = sys.argv[1:3]
import yolo_attn  # the allow list for ULTRALYTICS_SAFE_LOAD=1 comes with the import
from ultralytics import YOLO
from yolo_attn.data.synthetic import default_dataset
model = YOLO(ckpt)
names = sorted({type(m).__module__ + "." + type(m).__name__ for m in model.model.modules()
                if type(m).__module__.startswith("yolo_attn")})
net = model.model.float().eval()
expected = torch.load(expected_path)
with torch.no_grad():
    y = net(expected["x"])[0]
err = (y - expected["y"]).abs().max().item()
metrics = model.val(data=str(default_dataset()), imgsz=64, batch=16, device="cpu", plots=False, verbose=False,
                    project=os.getcwd(), name="val")
print("RESULT " + json.dumps({"names": names, "err": err, "map50": metrics.box.map50}))
"""


@pytest.mark.parametrize("safe_load", ["0", "1"])
def test_checkpoint_of_0_1_0_loads_and_validates_in_a_fresh_process(tmp_path, safe_load):
    r = subprocess.run([sys.executable, "-c", CHILD, str(CKPT), str(FIXTURES / "every-module-0.1.0.out.pt")],
                       capture_output=True, text=True, cwd=tmp_path, timeout=600,
                       env=subprocess_env(ULTRALYTICS_SAFE_LOAD=safe_load))
    assert r.returncode == 0, r.stderr[-3000:]
    result = json.loads(r.stdout.split("RESULT ", 1)[1].splitlines()[0])
    modules = {n.rsplit(".", 1)[1] for n in result["names"]}
    assert {"SE", "CBAM", "SimAM", "SRM", "EMA", "ECA", "CA", "GAM", "SA", "NAM", "TripletAttention", "GC",
            "BAM"} <= modules
    assert all(n.startswith("yolo_attn.models.") for n in result["names"]), result["names"]
    assert result["err"] < 1e-5  # the same outputs as when 0.1.0 saved it
    assert 0.0 <= result["map50"] <= 1.0

"""A checkpoint trained with yolo_attn 0.1.0 keeps loading: class paths in checkpoints are forever.

tests/fixtures/every-module-0.1.0.pt holds all 13 modules (tests/fixtures/every-module-0.1.0.yaml), trained one epoch
by 0.1.0 before the package's files were rearranged; every-module-0.1.0.out.pt is its eval output on a fixed input,
computed by 0.1.0's code on another machine.

Two comparisons, for two different claims:
- same process, exact: the unpickled model and a model rebuilt by today's code from the fixture's yaml and the
  checkpoint's state dict give bit-identical outputs (same ops, same machine, same threads -> same floats): today's
  parse of the yaml builds the same modules, with the same arguments and buffers, as the pickle holds.
- stored output, fp32 tolerance: the stored output was made on another CPU, where BLAS/oneDNN kernels sum in another
  order (9.2e-5 apart on an AMD EPYC). The rounding error of an fp32 dot product of length K is bounded, in the usual
  probabilistic (random-walk) estimate, by about sqrt(K) * eps * (the magnitude of the terms); the output's
  magnitude stands in for the terms. So the tolerance is max|y| * eps_fp32 * sqrt(K_max), K_max the longest
  reduction in the network (in_channels/groups * kh * kw of a conv, in_features of a linear). For this net that is
  about 1.4e-3 on outputs of magnitude 480 (relative 2.9e-6), 15x the cross-CPU spread seen, and orders of magnitude
  below a changed detection head. Caveat: this untrained fixture's output is insensitive to single modules (SE's
  mean pooling swapped for max pooling moves it by 1.5e-5); the modules themselves are pinned against the seed and
  official code in tests/models/test_modules_equivalence.py.
  The child also measures its own spread over thread counts and oneDNN on/off and asserts it lies inside the bound.
"""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import subprocess_env

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
CKPT = FIXTURES / "every-module-0.1.0.pt"
YAML = FIXTURES / "every-module-0.1.0.yaml"

CHILD = """
import json, math, os, sys, torch
ckpt, expected_path, yaml_path = sys.argv[1:4]
import yolo_attn  # the allow list for ULTRALYTICS_SAFE_LOAD=1 comes with the import
from ultralytics import YOLO
from ultralytics.nn.tasks import DetectionModel
from yolo_attn.data.synthetic import default_dataset
model = YOLO(ckpt)
names = sorted({type(m).__module__ + "." + type(m).__name__ for m in model.model.modules()
                if type(m).__module__.startswith("yolo_attn")})
net = model.model.float().eval()
rebuilt = DetectionModel(yaml_path, ch=3, nc=4, verbose=False)
rebuilt.load_state_dict(net.state_dict(), strict=True)
rebuilt = rebuilt.float().eval()
expected = torch.load(expected_path)
with torch.no_grad():
    y = net(expected["x"])[0]
    y_rebuilt = rebuilt(expected["x"])[0]
spread = 0.0  # this machine's own fp32 spread: other thread counts, oneDNN off
threads = torch.get_num_threads()
for n in (1, 2):
    for mkldnn in (True, False):
        torch.set_num_threads(n)
        torch.backends.mkldnn.enabled = mkldnn
        with torch.no_grad():
            spread = max(spread, (net(expected["x"])[0] - y).abs().max().item())
torch.set_num_threads(threads)
torch.backends.mkldnn.enabled = True
k_max = max([m.in_channels // m.groups * m.kernel_size[0] * m.kernel_size[1] for m in net.modules()
             if isinstance(m, torch.nn.Conv2d)] + [m.in_features for m in net.modules() if isinstance(m, torch.nn.Linear)])
tol = y.abs().max().item() * torch.finfo(torch.float32).eps * math.sqrt(k_max)
metrics = model.val(data=str(default_dataset()), imgsz=64, batch=16, device="cpu", plots=False, verbose=False,
                    project=os.getcwd(), name="val")
print("RESULT " + json.dumps({"names": names, "equal_rebuilt": torch.equal(y, y_rebuilt),
                              "err": (y - expected["y"]).abs().max().item(), "tol": tol, "k_max": k_max,
                              "spread": spread, "map50": metrics.box.map50}))
"""


@pytest.mark.subprocess
@pytest.mark.parametrize("safe_load", ["0", "1"])
def test_checkpoint_of_0_1_0_loads_and_validates_in_a_fresh_process(tmp_path, safe_load):
    r = subprocess.run([sys.executable, "-c", CHILD, str(CKPT), str(FIXTURES / "every-module-0.1.0.out.pt"), str(YAML)],
                       capture_output=True, text=True, cwd=tmp_path, timeout=600,
                       env=subprocess_env(ULTRALYTICS_SAFE_LOAD=safe_load))
    assert r.returncode == 0, r.stderr[-3000:]
    result = json.loads(r.stdout.split("RESULT ", 1)[1].splitlines()[0])
    modules = {n.rsplit(".", 1)[1] for n in result["names"]}
    assert {"SE", "CBAM", "SimAM", "SRM", "EMA", "ECA", "CA", "GAM", "SA", "NAM", "TripletAttention", "GC",
            "BAM"} <= modules
    assert all(n.startswith("yolo_attn.models.") for n in result["names"]), result["names"]
    # today's code, rebuilt from the yaml with the checkpoint's weights, computes exactly what the pickle computes
    assert result["equal_rebuilt"], result
    # the same outputs as when 0.1.0 saved them, up to fp32 summation order (see the module docstring)
    assert result["k_max"] >= 9, result
    assert result["spread"] <= result["tol"], result
    assert result["err"] <= result["tol"], result
    assert 0.0 <= result["map50"] <= 1.0

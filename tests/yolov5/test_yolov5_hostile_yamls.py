"""YOLOv5's own ``parse_model`` calls ``eval`` on module names, string arguments and ``activation:``; with
``import yolo_attn.yolov5`` a hostile yaml is a ``UsageError`` before YOLOv5 sees it, no marker file is written,
and YOLOv5's own yamls (``nn.Upsample, [None, 2, 'nearest']``, ``[nc, anchors]``, activations) build as before."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import subprocess_env

ROOT = Path(__file__).resolve().parents[2]

CHILD = r'''
import copy, json, sys
import yaml
import yolo_attn.yolov5
from yolov5.models.yolo import Model
from yolov5.models.common import Conv
from yolo_attn.errors import UsageError

marker, ref = sys.argv[1], sys.argv[2]
base = yaml.safe_load(open(f"{ref}/yolov5/models/yolov5n.yaml"))
code = f"open({marker!r}, 'w').close()"

def arg(d):
    d["backbone"][2][3] = [128, code]
def name(d):
    d["backbone"][2][2] = "exec"
def dotted(d):
    d["backbone"][2] = [-1, 1, f"__import__('os').system('touch {marker}') or Conv", [64, 3, 1]]
def act(d):
    d["activation"] = f"nn.SiLU() if {code} else nn.SiLU()"
def builtin_arg(d):
    d["head"][1][3] = [None, 2, "print"]
def repeats(d):
    d["backbone"][2][1] = 0
def anchors(d):
    d["anchors"] = 100000
out = {}
for edit in (arg, name, dotted, act, builtin_arg, repeats, anchors):
    d = copy.deepcopy(base)
    edit(d)
    try:
        Model(d)
        out[edit.__name__] = "BUILT"
    except UsageError as e:
        out[edit.__name__] = str(e)
    except KeyError as e:  # unknown names: the hook's one message for every unknown name, as on ultralytics' path
        out[edit.__name__] = e.args[0]
plain = Model(copy.deepcopy(base))
d = copy.deepcopy(base)
d["activation"] = "nn.LeakyReLU(0.1)"
leaky = Model(d)
out["plain_act"] = type(plain.model[0].act).__name__
out["leaky_act"] = [type(leaky.model[0].act).__name__, leaky.model[0].act.negative_slope]
out["upsample"] = plain.model[11].mode
print("RESULT " + json.dumps(out))
'''


@pytest.fixture(scope="module")
def result(yolov5_ref, tmp_path_factory):
    marker = tmp_path_factory.mktemp("v5hostile") / "MARKER"
    path = os.pathsep.join([str(ROOT), str(yolov5_ref)])
    r = subprocess.run([sys.executable, "-c", CHILD, str(marker), str(yolov5_ref)], capture_output=True, text=True,
                       env=subprocess_env(PYTHONPATH=path), timeout=900)
    assert r.returncode == 0, r.stderr[-3000:]
    assert not marker.exists(), "a yaml ran code inside YOLOv5"
    return json.loads(r.stdout.split("RESULT ", 1)[1])


@pytest.mark.parametrize("case, words", [
    ("arg", ["layer 2", "would be evaluated as Python by YOLOv5"]),
    ("name", ["layer 2", "unknown module 'exec'"]),
    ("dotted", ["layer 2", "is not a layer name"]),
    ("act", ["activation", "is not read"]),
    ("builtin_arg", ["'print'", "would be evaluated"]),
    ("repeats", ["repeats", "1 to 100"]),
    ("anchors", ["anchors 100000", "1 to 20"]),
])
def test_hostile_yaml_is_refused_before_yolov5_evaluates_it(result, case, words):
    assert all(w in result[case] for w in words), result[case]


def test_yolov5_yamls_still_build_with_their_activations(result):
    assert result["plain_act"] == "SiLU" and result["leaky_act"] == ["LeakyReLU", 0.1]
    assert result["upsample"] == "nearest"

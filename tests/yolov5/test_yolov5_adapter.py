"""``import yolo_attn.yolov5``: YOLOv5's own ``Model(yaml)`` (the packaged v7.0, in a child process) builds fork-style
and dialect yamls with SE, CBAM, SimAM, SRM and EMA, with YOLOv5's own parameter count plus the modules'."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import yolo_attn
from conftest import subprocess_env

ROOT = Path(__file__).resolve().parents[2]
WILD = ROOT / "tests" / "graph" / "yamls_wild"

# Runs in the child: build each yaml with YOLOv5's Model, forward in train and eval mode, report counts and notes.
CHILD = r'''
import copy, json, sys
import torch, yaml
import yolo_attn.yolov5
from yolov5.models.yolo import Model
import yolo_attn
from yolo_attn.graph.dialect import collect_notes
from yolo_attn.graph.placement import insert_attention

def params(m):
    return sum(p.numel() for p in m.parameters())

def build(cfg):
    with collect_notes() as notes:
        m = Model(cfg, ch=3, nc=80)
    train = [tuple(o.shape) for o in m(torch.zeros(1, 3, 64, 64))]
    m.eval()
    with torch.no_grad():
        pred = tuple(m(torch.zeros(1, 3, 64, 64))[0].shape)
    types = {i: type(x).__module__ + "." + type(x).__name__ for i, x in enumerate(m.model)}
    return {"params": params(m), "train": train, "eval": pred, "notes": [n.text for n in notes], "types": types}

out = {}
wild, ref = sys.argv[1], sys.argv[2]
for name in ("yolov5s_v5fork.yaml", "yolov5s_v5dialect.yaml"):
    out[name] = build(f"{wild}/{name}")
out["yolov5s-frabob-cbam.yaml"] = build(f"{wild}_2/yolov5s-frabob-cbam.yaml")  # CBAM in a fork's C3 group
out["plain_s"] = params(Model(f"{ref}/yolov5/models/yolov5s.yaml"))
mods = {"EMA": yolo_attn.EMA(128), "SE": yolo_attn.SE(256), "SRM": yolo_attn.SRM(512), "SimAM": yolo_attn.SimAM(),
        "CBAM": yolo_attn.CBAM(512)}
out["modules_s"] = sum(params(m) for m in mods.values())
# YOLOv5's own yamls (read from the packaged YOLOv5 at run time) with attention rows added, fork style
for base in ("yolov5n", "yolov5s"):
    d = yaml.safe_load(open(f"{ref}/yolov5/models/{base}.yaml"))
    plain = params(Model(copy.deepcopy(d)))
    d2 = insert_attention(d, "SE", at=[4, 6, 8])  # after the P3, P4, P5 C3s: rows 5, 8, 11
    d2.pop("attn")
    rows = d2["backbone"]
    rows[5], rows[8], rows[11] = [-1, 1, "SimAM", [256]], [-1, 1, "SEAttention", [512]], [-1, 1, "CBAM", [1024]]
    d2["yaml_file"] = f"{base}-wild.yaml"
    r = build(d2)
    w = d["width_multiple"]
    c = lambda x: int(x * w)
    r["expected"] = plain + params(yolo_attn.SimAM()) + params(yolo_attn.SE(c(512))) + params(yolo_attn.CBAM(c(1024)))
    out[base] = r
print("RESULT " + json.dumps(out))
'''


def _child(yolov5_ref, code, *args, cwd=None, extra_path=()):
    path = os.pathsep.join([*map(str, extra_path), str(ROOT), str(yolov5_ref)])
    r = subprocess.run([sys.executable, "-c", code, *map(str, args)], capture_output=True, text=True, cwd=cwd,
                       env=subprocess_env(PYTHONPATH=path), timeout=900)
    assert r.returncode == 0, r.stderr[-3000:]
    return r


@pytest.fixture(scope="module")
def out(yolov5_ref):
    return json.loads(_child(yolov5_ref, CHILD, WILD, yolov5_ref).stdout.split("RESULT ", 1)[1])


def test_yolov5_model_builds_fork_style_and_dialect_yamls(out):
    fork, dialect = out["yolov5s_v5fork.yaml"], out["yolov5s_v5dialect.yaml"]
    assert out["plain_s"] == 7_235_389  # YOLOv5 v7.0's own yolov5s
    assert fork["params"] == dialect["params"] == out["plain_s"] + out["modules_s"]
    assert fork["types"] == dialect["types"]
    for i, name in {5: "EMA", 8: "SE", 11: "SRM", 21: "SimAM", 28: "CBAM"}.items():
        assert fork["types"][str(i)] == f"yolo_attn.models.{name.lower()}.{name}"
    assert fork["train"] == [[1, 3, 8, 8, 85], [1, 3, 4, 4, 85], [1, 3, 2, 2, 85]] and fork["eval"] == [1, 252, 85]
    assert dialect["notes"] == [] and len(fork["notes"]) == 5
    assert fork["notes"][0] == ("yolov5s_v5fork.yaml layer 5 [-1, 1, EMA, [256]]: 256 is the channel count (fork "
                                "style); built EMA(128, factor=32)")
    assert fork["notes"][1].startswith("yolov5s_v5fork.yaml layer 8 [-1, 1, SElayer, [512]]: 512 is the channel count "
                                       "(fork style); SElayer is seed 001's name for SE")
    assert fork["notes"][4].endswith("built CBAM(512, reduction=16, kernel_size=7)")


@pytest.mark.parametrize("folder, name", [("yamls_wild", "yolov5s_v5fork.yaml"),
                                          ("yamls_wild_2", "yolov5s-frabob-cbam.yaml")])
def test_yolov5_model_gives_the_notes_of_the_ultralytics_path(out, folder, name):
    """Issue 28 item 5: the same readings, word for word (the Conv-group and C3-group readings among them)."""
    from yolo_attn.graph.wild import build_yaml, load_yaml

    _, notes = build_yaml(load_yaml(WILD.parent / folder / name))
    assert out[name]["notes"] == [n.text for n in notes]
    assert any("listed in parse_model's C3 group" in n for n in out[name]["notes"])


def test_yolov5s_own_yamls_with_attention_rows_added(out):
    for base, c5 in (("yolov5n", 256), ("yolov5s", 512)):
        r = out[base]
        assert r["params"] == r["expected"]
        assert [n.split(": ")[0] for n in r["notes"]] == [f"{base}-wild.yaml layer 5 [-1, 1, SimAM, [256]]",
                                                           f"{base}-wild.yaml layer 8 [-1, 1, SEAttention, [512]]",
                                                           f"{base}-wild.yaml layer 11 [-1, 1, CBAM, [1024]]"]
        assert r["notes"][2].endswith(f"built CBAM({c5}, reduction=16, kernel_size=7)")


STANDIN = '''
import argparse
from models.yolo import Model  # a YOLOv5 clone's import, as in its train.py
p = argparse.ArgumentParser()
p.add_argument("--cfg")
p.add_argument("--data")
opt = p.parse_args()
m = Model(opt.cfg)
print("STANDIN", __name__, type(m.model[5]).__module__, sum(x.numel() for x in m.parameters()))
'''


def test_runner_runs_a_script_inside_a_clone_with_the_plugin_loaded(yolov5_ref, tmp_path):
    """A stand-in for train.py (the packaged 7.0's train.py does not run on this stack) in a clone-like folder whose
    ``models`` is YOLOv5's (a link, nothing copied): ``python -m yolo_attn.yolov5 train_standin.py --cfg ...``."""
    clone = tmp_path / "clone"
    clone.mkdir()
    (clone / "models").symlink_to(Path(yolov5_ref) / "yolov5" / "models")
    (clone / "train_standin.py").write_text(STANDIN)
    cfg = WILD / "yolov5s_v5fork.yaml"
    r = subprocess.run([sys.executable, "-m", "yolo_attn.yolov5", "train_standin.py", "--cfg", str(cfg), "--data",
                        "x.yaml"], capture_output=True, text=True, cwd=clone, timeout=900,
                       env=subprocess_env(PYTHONPATH=os.pathsep.join([str(ROOT), str(yolov5_ref)])))
    assert r.returncode == 0, r.stderr[-3000:]
    line = next(x for x in r.stdout.splitlines() if x.startswith("STANDIN"))
    name, module, n = line.split()[1:]
    assert name == "__main__" and module == "yolo_attn.models.ema"
    mods = (yolo_attn.EMA(128), yolo_attn.SE(256), yolo_attn.SRM(512), yolo_attn.SimAM(), yolo_attn.CBAM(512))
    assert int(n) == 7_235_389 + sum(p.numel() for m in mods for p in m.parameters())
    assert "layer 5 [-1, 1, EMA, [256]]: 256 is the channel count (fork style)" in r.stdout + r.stderr
    # without the runner the clone's parse_model does not know the names
    plain = subprocess.run([sys.executable, "train_standin.py", "--cfg", str(cfg)], capture_output=True, text=True,
                           cwd=clone, timeout=900, env=subprocess_env(PYTHONPATH=str(yolov5_ref)))
    assert plain.returncode != 0 and "NameError" in plain.stderr and "'EMA' is not defined" in plain.stderr


def test_runner_usage_errors(tmp_path):
    r = subprocess.run([sys.executable, "-m", "yolo_attn.yolov5", "nope.py"], capture_output=True, text=True,
                       cwd=tmp_path, env=subprocess_env(), timeout=300)
    assert r.returncode == 2 and r.stderr.startswith("error: nope.py: no such script")


# The checks of the ultralytics path, inside YOLOv5's own Model (issue 28): one message naming every unknown name
# instead of YOLOv5's NameError, and the unread-layer warning for a stale 'from'.
CHECKS_CHILD = r'''
import copy, sys, yaml
import yolo_attn.yolov5
from yolov5.models.yolo import Model
ref = sys.argv[1]
d = yaml.safe_load(open(f"{ref}/yolov5/models/yolov5n.yaml"))
bad = copy.deepcopy(d)
bad["backbone"][2][2] = "CBAMC3"
bad["backbone"][4][2] = "ECAAttentoin"
bad["head"][-1][2] = "Decoupled_Detect"
try:
    Model(bad)
except KeyError as e:
    print("UNKNOWN " + e.args[0])
stale = copy.deepcopy(d)
stale["backbone"].insert(5, [-1, 1, "SE", []])  # Detect's absolute [17, 20, 23] left stale: layer 24 is unread
Model(stale)
print("BUILT")
'''


def test_yolov5_model_gives_the_one_unknown_names_message_and_the_unread_layer_warning(yolov5_ref):
    r = _child(yolov5_ref, CHECKS_CHILD, yolov5_ref)
    out = r.stdout + r.stderr
    line = next(x for x in out.splitlines() if x.startswith("UNKNOWN "))
    assert "NameError" not in out
    assert "3 unknown module names: layer 2 'CBAMC3' (a composite: usually a C3 whose bottlenecks end in CBAM" in line
    assert "layer 4 'ECAAttentoin' (an attention module from another project's code; Did you mean 'ECAAttention'?)" in line
    assert "layer 24 'Decoupled_Detect' (a detection head from another project's code, not an attention module; the " \
           "nearest head here is 'Detect'" in line
    assert "BUILT" in out and "the C3 output (layer 24) is read by no later layer" in out
    assert out.count("(layer 24) is read by no later layer") == 1  # once per problem

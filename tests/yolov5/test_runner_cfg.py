"""README's clone example runs as written (issue 27): ``python -m yolo_attn.yolov5 train.py --cfg yolov5s-ema.yaml``
inside a YOLOv5 clone, where YOLOv5 finds no such file, gets yolo_attn's shipped config in YOLOv5's format (anchor
head, ``depth_multiple``/``width_multiple``), which YOLOv5's own ``Model`` builds."""

import os
import subprocess
import sys
from pathlib import Path

import yaml

import yolo_attn
from conftest import subprocess_env

ROOT = Path(__file__).resolve().parents[2]

STANDIN = r'''
import argparse, sys
from models.yolo import Model
p = argparse.ArgumentParser()
p.add_argument("--cfg")
opt = p.parse_args()
m = Model(opt.cfg)
print("STANDIN", opt.cfg, type(m.model[-1]).__name__, type(m.model[9]).__module__, sum(x.numel() for x in m.parameters()))
'''


def test_shipped_cfg_name_runs_in_a_clone(yolov5_ref, tmp_path):
    clone = tmp_path / "clone"
    clone.mkdir()
    (clone / "models").symlink_to(Path(yolov5_ref) / "yolov5" / "models")
    (clone / "train_standin.py").write_text(STANDIN)
    r = subprocess.run([sys.executable, "-m", "yolo_attn.yolov5", "train_standin.py", "--cfg", "yolov5s-ema.yaml"],
                       capture_output=True, text=True, cwd=clone, timeout=900,
                       env=subprocess_env(PYTHONPATH=os.pathsep.join([str(ROOT), str(yolov5_ref)])))
    assert r.returncode == 0, r.stderr[-3000:]
    assert "--cfg yolov5s-ema.yaml: yolo_attn's shipped config in YOLOv5's format" in r.stdout
    line = next(x for x in r.stdout.splitlines() if x.startswith("STANDIN"))
    cfg, head, module, n = line.split()[1:]
    assert Path(cfg) == Path("runs/yolo_attn-cfg/yolov5s-ema.yaml") and head == "Detect"
    assert module == "yolo_attn.models.ema"  # row 9: the EMA before SPPF
    plain = yaml.safe_load((Path(yolov5_ref) / "yolov5" / "models" / "yolov5s.yaml").read_text())
    written = yaml.safe_load((clone / cfg).read_text())
    assert written["anchors"] == plain["anchors"] and written["width_multiple"] == plain["width_multiple"]
    assert int(n) == 7_235_389 + sum(p.numel() for p in yolo_attn.EMA(512).parameters())  # YOLOv5s + EMA(512)

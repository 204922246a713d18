"""Run with YOLOv5's own code (and this repository) on PYTHONPATH, never imported by the package or the tests.

``python yolov5_variants.py OUT`` saves checkpoints the way YOLOv5 writes them, in the variants issue 26 lists, and
beside each detection one ``<name>.out.pt`` with an input ``x`` and YOLOv5's own eval output ``y`` of the model YOLOv5's
``attempt_load`` gives (``(ckpt['ema'] or ckpt['model']).float()``):

- ``fused.pt`` (``model.fuse()``: pickles ``getattr(conv, 'forward_fuse')``), ``seg.pt`` (yolov5n-seg: pickles
  ``getattr(Detect, 'forward')``), ``ema-only.pt`` (``model`` None), ``fp32.pt``, ``legacy.pt`` (non-zip format),
  ``runner-simam.pt`` (a model built by YOLOv5's parse_model with ``yolo_attn.yolov5`` installed: pickles
  ``yolo_attn.models.simam.SimAM`` inside ``yolov5.models.yolo`` objects).
"""

import sys
from copy import deepcopy
from pathlib import Path

import torch
import yaml


def _model(cfg):
    from yolov5.models.yolo import Model

    torch.manual_seed(0)
    m = Model(cfg, ch=3, nc=80)
    with torch.no_grad():
        for p in m.parameters():
            p.add_(torch.randn_like(p) * 0.05)
    return m


def _save(m, path: Path, entry="both", half=True, legacy=False):
    mm = deepcopy(m).half() if half else deepcopy(m)
    ckpt = {"epoch": 1, "model": None if entry == "ema" else mm, "ema": mm if entry != "model" else None,
            "optimizer": None, "opt": {"imgsz": 64}}
    torch.save(ckpt, path, _use_new_zipfile_serialization=not legacy)
    loaded = torch.load(path, map_location="cpu", weights_only=False)
    ref = (loaded["ema"] or loaded["model"]).float().eval()
    torch.manual_seed(1)
    x = torch.rand(1, 3, 64, 64)
    with torch.no_grad():
        y = ref(x)[0]
    torch.save({"x": x, "y": y}, path.with_suffix(".out.pt"))


def main(out: Path):
    import yolov5

    out.mkdir(parents=True, exist_ok=True)
    models = Path(yolov5.__file__).parent / "models"
    v5n = _model(str(models / "yolov5n.yaml"))
    _save(v5n, out / "ema-only.pt", entry="ema")
    _save(v5n, out / "fp32.pt", half=False)
    _save(v5n, out / "legacy.pt", legacy=True)
    _save(deepcopy(v5n).fuse(), out / "fused.pt", entry="model")
    seg = _model(str(models / "segment" / "yolov5n-seg.yaml"))
    torch.save({"model": deepcopy(seg).half(), "ema": None}, out / "seg.pt")
    import yolo_attn.yolov5

    yolo_attn.yolov5.install()
    d = yaml.safe_load((models / "yolov5n.yaml").read_text())
    d["head"].insert(len(d["head"]) - 1, [-1, 1, "SimAM", []])  # before Detect, which reads [17, 20, 23]
    _save(_model(d), out / "runner-simam.pt")


if __name__ == "__main__":
    main(Path(sys.argv[1]))

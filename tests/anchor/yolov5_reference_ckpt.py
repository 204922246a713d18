"""Run with YOLOv5's own code on PYTHONPATH (``$YOLO_ATTN_YOLOV5_REF``), never imported by the package or the tests.

``python yolov5_reference_ckpt.py OUT`` saves, the way YOLOv5's train.py saves a checkpoint (``{'model': fp16 model
object, 'ema': fp16 model object, 'optimizer': ..., 'epoch', 'best_fitness', 'opt', 'git', 'date'}``), yolov5n.yaml at
nc 80 and nc 4 in both module layouts:

- ``packaged-nc{80,4}.pt``: classes pickled as ``yolov5.models.yolo.DetectionModel``, ``yolov5.models.common.Conv`` ...
  (the ``yolov5`` package on PyPI);
- ``repository-nc{80,4}.pt``: the same classes pickled under the repository's paths ``models.yolo.*``,
  ``models.common.*``, ``utils.*``: before saving, every class of ``yolov5.models.*``/``yolov5.utils.*`` gets its
  repository ``__module__`` and the module is aliased in ``sys.modules`` (what running train.py from the repository
  root gives);
- ``evil.pt``: packaged-nc80's content plus an entry whose unpickling calls ``os.system`` (writes ``OUT/pwned``).

Next to each checkpoint, ``<name>.out.pt`` holds plain tensors: the input ``x``, YOLOv5's eval output (``(B, N, 5 +
nc)``) and train-mode maps of the model as YOLOv5's ``attempt_load`` gives it (``ckpt['ema'].float()``).
"""

import os
import sys
from copy import deepcopy
from datetime import datetime
from pathlib import Path

import numpy as np
import torch


class Evil:
    def __init__(self, cmd):
        self.cmd = cmd

    def __reduce__(self):
        return os.system, (self.cmd,)


def _model(nc: int):
    import yolov5
    from yolov5.models.yolo import Model

    torch.manual_seed(nc)
    m = Model(str(Path(yolov5.__file__).parent / "models" / "yolov5n.yaml"), ch=3, nc=nc)
    with torch.no_grad():  # trained-looking weights: every tensor (BN statistics, Detect biases) differs from init
        for p in m.parameters():
            p.add_(torch.randn_like(p) * 0.05)
        for name, b in m.named_buffers():
            if name.endswith("running_mean"):
                b.copy_(torch.randn_like(b) * 0.1)
            elif name.endswith("running_var"):
                b.copy_(torch.rand_like(b) + 0.5)
        m.model[-1].anchors.mul_(1.1)  # as AutoAnchor would have changed them
    m.nc, m.names = nc, [f"class{i}" for i in range(nc)]
    m.hyp = {"box": 0.05, "obj": 1.0, "cls": 0.5, "anchor_t": 4.0}
    return m


def _save(m, path: Path, extra=None):
    opt = torch.optim.SGD(m.parameters(), lr=0.01, momentum=0.937)
    ckpt = {'epoch': 3, 'best_fitness': np.array([0.25]), 'model': deepcopy(m).half(), 'ema': deepcopy(m).half(),
            'updates': 12, 'optimizer': opt.state_dict(), 'opt': {'weights': '', 'cfg': 'yolov5n.yaml', 'imgsz': 640},
            'git': {'remote': '', 'branch': '', 'commit': ''}, 'date': datetime.now().isoformat(), **(extra or {})}
    torch.save(ckpt, path)


def _reference_outputs(path: Path):
    m = torch.load(path, map_location="cpu", weights_only=False)["ema"].float()  # YOLOv5's attempt_load
    sd = {k: v.float().clone() if v.is_floating_point() else v.clone() for k, v in m.state_dict().items()}
    torch.manual_seed(1)
    x = torch.rand(2, 3, 128, 96)
    with torch.no_grad():
        y = m.eval()(x)[0]
        maps = m.train()(x)
    torch.save({"x": x, "y": y, "maps": list(maps), "state_dict": sd},
               path.with_suffix(".out.pt"))


def _repository_paths():
    """Give YOLOv5's classes the repository's module paths (``models.common.Conv``) for pickling."""
    for name in list(sys.modules):
        if name.startswith(("yolov5.models", "yolov5.utils")):
            mod, short = sys.modules[name], name[len("yolov5."):]
            sys.modules[short] = mod
            for obj in list(vars(mod).values()):
                if isinstance(obj, type) and obj.__module__ == name:
                    obj.__module__ = short


def main(out: Path):
    out.mkdir(parents=True, exist_ok=True)
    models = {nc: _model(nc) for nc in (80, 4)}
    for nc, m in models.items():
        _save(m, out / f"packaged-nc{nc}.pt")
        _reference_outputs(out / f"packaged-nc{nc}.pt")
    _save(models[80], out / "evil.pt", {"evil": Evil(f"echo pwned > {out / 'pwned'}")})
    _repository_paths()
    for nc, m in models.items():
        _save(m, out / f"repository-nc{nc}.pt")
        _reference_outputs(out / f"repository-nc{nc}.pt")


def from_state_dict(out: Path, sd_path: Path):
    sd = torch.load(sd_path, map_location="cpu")
    names = list(sd["names"])
    m = _model(len(names))
    m.load_state_dict(sd["state_dict"])
    m.names = names
    _repository_paths()
    _save(m, out)


if __name__ == "__main__":
    if "--state-dict" in sys.argv:
        from_state_dict(Path(sys.argv[1]), Path(sys.argv[sys.argv.index("--state-dict") + 1]))
    else:
        main(Path(sys.argv[1]))

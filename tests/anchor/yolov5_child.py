"""Run by the reference tests in a child process with PYTHONPATH=<YOLOv5 v7.0 folder>: YOLOv5's own code computes
the figures ours are held against. Never imports yolo_attn. Usage: python yolov5_child.py JOB YAML OUT [ARGS...]"""

import math
import random
import sys
from pathlib import Path

import numpy as np
import torch

from yolov5.models.yolo import Model

sys.path.append(str(Path(__file__).resolve().parents[1]))  # tests/, last: module_checks (imports only torch)
from module_checks import randomise  # noqa: E402


def build(yaml_path, nc=80):
    torch.manual_seed(0)
    return Model(yaml_path, ch=3, nc=nc)


def job_params(yaml_path, out, nc="80"):
    m = build(yaml_path, int(nc))
    torch.save({"params": sum(p.numel() for p in m.parameters()), "stride": m.stride,
                "anchors": m.model[-1].anchors.clone()}, out)


def job_outputs(yaml_path, out, imgsz="128"):
    m = build(yaml_path)
    randomise(m, scale=0.02, shift=True)  # every weight off its init: equal outputs mean equal weights
    x = torch.rand(2, 3, int(imgsz), int(imgsz), generator=torch.Generator().manual_seed(2))
    state = {k: v.clone() for k, v in m.state_dict().items()}  # before a train-mode pass moves the BN statistics
    m.eval()
    with torch.no_grad():
        y, _ = m(x)
        m.train()
        maps = m(x)
    from yolov5.utils.general import xywh2xyxy

    torch.save({"state_dict": state, "x": x, "y": y, "maps": maps, "y_xyxy": xywh2xyxy(y[..., :4])}, out)


def job_priors(yaml_path, out, nc="80"):
    """The anchors (grid units, after check_anchor_order) and the bias priors YOLOv5's Model.__init__ adds."""
    from yolov5.models import yolo

    before = {}
    original = yolo.DetectionModel._initialize_biases

    def spy(self, cf=None):
        before["b"] = [mi.bias.detach().clone() for mi in self.model[-1].m]
        return original(self, cf)

    yolo.DetectionModel._initialize_biases = spy
    m = build(yaml_path, int(nc))
    torch.save({"anchors": m.model[-1].anchors.clone(), "stride": m.stride, "before": before["b"],
                "after": [mi.bias.detach().clone() for mi in m.model[-1].m]}, out)


def scaled_hyp(nl, nc, imgsz, label_smoothing=0.0, fl_gamma=0.0):
    """hyp.scratch-low with train.py's scaling (box, cls, obj), --label-smoothing and fl_gamma as given."""
    import yaml
    from pathlib import Path

    import yolov5

    hyp = yaml.safe_load((Path(yolov5.__file__).parent / "data/hyps/hyp.scratch-low.yaml").read_text())
    hyp["box"] *= 3 / nl
    hyp["cls"] *= nc / 80 * 3 / nl
    hyp["obj"] *= (imgsz / 640) ** 2 * 3 / nl
    hyp["label_smoothing"] = label_smoothing
    hyp["fl_gamma"] = fl_gamma
    return hyp


def job_loss(yaml_path, out, imgsz="128", nc="5", label_smoothing="0", fl_gamma="0"):
    from yolov5.utils.loss import ComputeLoss

    imgsz, nc = int(imgsz), int(nc)
    m = build(yaml_path, nc)
    randomise(m, scale=0.02, shift=True)  # every weight off its init: equal outputs mean equal weights
    m.hyp = scaled_hyp(m.model[-1].nl, nc, imgsz, float(label_smoothing), float(fl_gamma))
    g = torch.Generator().manual_seed(3)
    x = torch.rand(4, 3, imgsz, imgsz, generator=g)
    n = 40
    xy = torch.rand(n, 2, generator=g) * 0.8 + 0.1
    wh = torch.rand(n, 2, generator=g) * 0.5 + 0.02
    targets = torch.cat((torch.randint(0, 4, (n, 1), generator=g).float(),
                         torch.randint(0, nc, (n, 1), generator=g).float(), xy, wh), 1)
    m.train()
    preds = m(x)
    total, items = ComputeLoss(m)(preds, targets)
    torch.save({"preds": [p.detach() for p in preds], "targets": targets, "total": total.detach(), "items": items,
                "hyp": m.hyp, "anchors": m.model[-1].anchors.clone()}, out)


class Labels:
    """What check_anchors reads of a YOLOv5 dataset: image sizes (w, h) and labels (class, x, y, w, h)."""

    def __init__(self, seed=4, n=60):
        rng = np.random.RandomState(seed)
        self.shapes = rng.randint(200, 900, size=(n, 2)).astype(np.float64)
        self.labels = []
        for _ in range(n):
            k = rng.randint(1, 6)
            wh = np.exp(rng.uniform(np.log(0.005), np.log(0.9), size=(k, 2)))  # tiny to huge: BPR below 0.98
            self.labels.append(np.concatenate((np.zeros((k, 1)), rng.uniform(0.2, 0.8, (k, 2)), wh), 1))


def job_bpr(yaml_path, out, imgsz="640", labels_file=None):
    from yolov5.utils import autoanchor

    m = build(yaml_path)
    data = Labels()
    if labels_file:  # a data set the test built: {"shapes": (n, 2) w h, "labels": [(k, 5) class x y w h]}
        given = torch.load(labels_file, weights_only=False)
        data.shapes, data.labels = given["shapes"], given["labels"]
    anchors_before = m.model[-1].anchors.clone()
    seen = {}

    def profile(frame, event, arg):  # check_anchors' own bpr/aat locals, as it computed them; k-means called?
        if event == "return" and frame.f_code is autoanchor.check_anchors.__wrapped__.__code__:
            seen.update({k: frame.f_locals[k] for k in ("bpr", "aat") if k in frame.f_locals})
        if event == "call" and frame.f_code is autoanchor.kmean_anchors.__code__:
            seen["kmeans"] = True

    random.seed(0)
    np.random.seed(0)
    sys.setprofile(profile)
    try:
        autoanchor.check_anchors(data, model=m, thr=4.0, imgsz=int(imgsz))
    finally:
        sys.setprofile(None)
    torch.save({"bpr": float(seen["bpr"]), "aat": float(seen["aat"]), "kmeans": seen.get("kmeans", False), "shapes": data.shapes, "labels": data.labels,
                "anchors_before": anchors_before, "anchors_after": m.model[-1].anchors.clone(), "stride": m.stride},
               out)


if __name__ == "__main__":
    job, *args = sys.argv[1:]
    globals()[f"job_{job}"](*args)

"""Class-activation heatmaps of several checkpoints side by side on the same images (``visualize_attn.py --cam``).

The heatmaps come from the ``grad-cam`` package (``pytorch_grad_cam``, the optional extra ``yolo_attn[cam]``):

* ``eigencam``: EigenCAM (Muhammad & Yeasin 2020), the first principal component of each target layer's activations;
  needs no gradient and no class, which is why it suits detectors;
* ``gradcam``: Grad-CAM (Selvaraju et al. 2017) of the detector's confidence: the sum of the ``CONF_TOPK`` highest
  per-box class confidences of the model output (``DetectionScore``).

Target layers: the inputs of the detection head (the P3/P4/P5 feature maps), or the rows given; the package scales
each layer's map to the input and averages them, then min-max scales to [0, 1]. The map is computed on the
letterboxed input (as ultralytics' predictor feeds the model) and mapped back to the original image
(``ultralytics.utils.ops.scale_masks``). Per image: ``<stem>_cam.png`` (the image, then one overlay per checkpoint,
each under a label strip) and ``<stem>_cam.npz`` (one (H, W) array per checkpoint, keyed by its label).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import torch.nn as nn

from yolo_attn.errors import UsageError

__all__ = ("CAM_METHODS", "CONF_TOPK", "LABEL_H", "DetectionScore", "cam_class", "load_detector", "cam_map",
           "checkpoint_labels", "cam_sheet", "visualize_cam")

CAM_METHODS = ("eigencam", "gradcam")
CONF_TOPK = 100  # Grad-CAM target: the strongest boxes' confidences (an image's detections, before NMS)
LABEL_H = 20  # pixel height of the label strip above each sheet panel


def cam_class(method: str):
    """The ``pytorch_grad_cam`` class for ``method``; without the package a ``UsageError`` naming the extra."""
    if method not in CAM_METHODS:
        raise UsageError(f"--cam {method}: unknown method; use one of {', '.join(CAM_METHODS)}")
    try:
        import pytorch_grad_cam
    except ImportError:
        raise UsageError("--cam needs the grad-cam package: pip install yolo_attn[cam]") from None
    return {"eigencam": pytorch_grad_cam.EigenCAM, "gradcam": pytorch_grad_cam.GradCAM}[method]


class _FirstOutput(nn.Module):
    """The detector with only its prediction tensor as output (the package expects one tensor, not a tuple)."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model

    def forward(self, x):
        y = self.model(x)
        return y[0] if isinstance(y, (list, tuple)) else y


class DetectionScore:
    """Grad-CAM target for one image's prediction: the sum of its ``topk`` highest box confidences.

    ``pred``: the anchor-free head's (4 + nc, N) (class scores in rows 4:) or YOLOv5's anchor head's (N, 5 + nc)
    (objectness x class score)."""

    def __init__(self, nc: int, topk: int = CONF_TOPK):
        self.nc, self.topk = nc, topk

    def __call__(self, pred: torch.Tensor) -> torch.Tensor:
        if pred.shape[0] == 4 + self.nc:
            conf = pred[4:].amax(0)
        elif pred.shape[-1] == 5 + self.nc:
            conf = (pred[:, 4:5] * pred[:, 5:]).amax(1)
        else:
            raise ValueError(f"unexpected prediction shape {tuple(pred.shape)} for {self.nc} classes")
        return conf.topk(min(self.topk, conf.numel())).values.sum()


def load_detector(weights) -> tuple[nn.Module, int]:
    """The checkpoint's model (through ultralytics' ``YOLO``, whose loading goes through the project's safe loader),
    float, eval, with gradients on (Grad-CAM needs them); and its train image size (640 if it records none)."""
    from ultralytics import YOLO

    yolo = YOLO(str(weights))
    model = yolo.model.float().eval()
    for p in model.parameters():
        p.requires_grad_(True)
    return model, int((yolo.ckpt or {}).get("train_args", {}).get("imgsz") or 640)


def _target_layers(model: nn.Module, layers: list[int] | None) -> list[nn.Module]:
    rows = model.model
    idx = layers if layers else [rows[-1].f] if isinstance(rows[-1].f, int) else list(rows[-1].f)
    bad = [i for i in idx if not -len(rows) <= i < len(rows) - 1]
    if bad:
        raise UsageError(f"--cam-layers {','.join(map(str, bad))}: no such layer before the head "
                         f"(the model has rows 0..{len(rows) - 2} before it)")
    return [rows[i] for i in idx]


def cam_map(model: nn.Module, image: torch.Tensor, method: str, layers: list[int] | None = None) -> np.ndarray:
    """The (H, W) heatmap in [0, 1] of ``model`` on ``image`` (1, 3, H, W) with ``method``."""
    cls = cam_class(method)
    wrapped = _FirstOutput(model)
    nc = int(getattr(model, "nc", None) or len(model.names))
    with cls(model=wrapped, target_layers=_target_layers(model, layers)) as cam:
        grey = cam(input_tensor=image, targets=[DetectionScore(nc)])
    return np.nan_to_num(grey[0].astype(np.float32), nan=0.0).clip(0, 1)


def _to_original(cam: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """A heatmap of the letterboxed input cut to the image's content and resized to the image's (H, W)."""
    from ultralytics.utils.ops import scale_masks

    t = scale_masks(torch.from_numpy(cam)[None, None], shape)  # bilinear: stays within [0, 1]
    return t[0, 0].numpy().astype(np.float32).clip(0, 1)


def checkpoint_labels(weights: list) -> list[str]:
    """A short unique label per checkpoint: ``<run>`` for ``<run>/weights/*.pt``, else the file stem; ``i_`` prefix."""
    labels = []
    for i, w in enumerate(weights):
        p = Path(w)
        labels.append(f"{i}_{p.parent.parent.name if p.parent.name == 'weights' else p.stem}")
    return labels


def cam_sheet(bgr: np.ndarray, cams: dict[str, np.ndarray], file: Path) -> Path:
    """The image and one overlay per heatmap, side by side, each below a ``LABEL_H`` px label: a PNG of
    (H + LABEL_H) x (W x (1 + len(cams))) pixels."""
    import cv2
    from pytorch_grad_cam.utils.image import show_cam_on_image

    rgb = np.ascontiguousarray(bgr[..., ::-1])
    panels = [("image", rgb)] + [(k, show_cam_on_image(rgb.astype(np.float32) / 255, v, use_rgb=True))
                                 for k, v in cams.items()]
    out = []
    for label, panel in panels:
        strip = np.full((LABEL_H, panel.shape[1], 3), 255, np.uint8)
        cv2.putText(strip, label[:40], (2, LABEL_H - 6), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (0, 0, 0), 1, cv2.LINE_AA)
        out.append(np.concatenate([strip, panel], 0))
    cv2.imwrite(str(file), np.concatenate(out, 1)[..., ::-1])
    return file


def visualize_cam(weights: list, source, out_dir, method: str = "eigencam", imgsz: int | None = None,
                  max_images: int | None = 8, layers: list[int] | None = None) -> list[Path]:
    """Write ``<stem>_cam.png`` and ``<stem>_cam.npz`` into ``out_dir`` for each image of ``source``: the heatmaps
    of every checkpoint in ``weights`` (at ``imgsz``, default the first checkpoint's train size). Returns the files."""
    import cv2

    from yolo_attn.analysis.visualize import image_files, load_image

    cam_class(method)  # the package and the method, before any model is loaded
    models = [load_detector(w) for w in weights]
    imgsz = int(imgsz or models[0][1])
    stride = max(int(max(getattr(m, "stride", torch.tensor([32])).max(), 32)) for m, _ in models)
    if imgsz % stride:
        raise UsageError(f"--imgsz {imgsz} must be a multiple of the models' stride {stride}")
    labels, written = checkpoint_labels(weights), []
    out_dir = Path(out_dir)
    for path in image_files(source, max_images):
        image, _ = load_image(path, imgsz, stride)
        bgr = cv2.imread(str(path))
        cams = {lab: _to_original(cam_map(m, image, method, layers), bgr.shape[:2]) for lab, (m, _) in zip(labels, models)}
        out_dir.mkdir(parents=True, exist_ok=True)
        written.append(cam_sheet(bgr, cams, out_dir / f"{path.stem}_cam.png"))
        np.savez(out_dir / f"{path.stem}_cam.npz", **cams)
        written.append(out_dir / f"{path.stem}_cam.npz")
    return written

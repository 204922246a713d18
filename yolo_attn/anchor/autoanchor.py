"""AutoAnchor as YOLOv5's ``utils/autoanchor.py`` does it, on ultralytics' dataset.

At train start: best possible recall (BPR: share of labels with at least one anchor whose w and h ratios are within
``anchor_t``) and anchors above threshold per label, on the label sizes at the training image size with a random
0.9-1.1 scale per image. Below 0.98 (always for ``anchors: 3`` placeholders) the anchors are recomputed: k-means on
the whitened label sizes, then 1000 generations of mutation, and kept if their BPR is higher. Random numbers come
from numpy's and Python's global generators as in YOLOv5 (ultralytics seeds them per run).
"""

from __future__ import annotations

import random

import numpy as np
import torch
from ultralytics.utils import LOGGER

from yolo_attn.anchor.head import check_anchor_order

__all__ = ("PREFIX", "BPR_THRESHOLD", "label_wh", "anchor_metric", "check_anchors", "kmean_anchors",
           "dataset_shapes_labels")

PREFIX = "AutoAnchor: "
BPR_THRESHOLD = 0.98


def dataset_shapes_labels(dataset) -> tuple[np.ndarray, list[np.ndarray]]:
    """Image sizes ``(n, 2)`` as (w, h) and per-image normalised label sizes ``(k, 2)`` (w, h) of an ultralytics
    ``YOLODataset`` (its ``labels`` dicts: ``shape`` (h, w), ``bboxes`` normalised xywh)."""
    shapes = np.array([lb["shape"][::-1] for lb in dataset.labels], dtype=np.float64)
    labels = [np.asarray(lb["bboxes"], dtype=np.float64).reshape(-1, 4)[:, 2:4] for lb in dataset.labels]
    return shapes, labels


def label_wh(shapes: np.ndarray, labels: list[np.ndarray], imgsz: int, augment: bool = True) -> np.ndarray:
    """Label (w, h) in pixels at ``imgsz`` (longest side), times a random 0.9-1.1 per image when ``augment``."""
    shapes = imgsz * shapes / shapes.max(1, keepdims=True)
    if augment:
        shapes = shapes * np.random.uniform(0.9, 1.1, size=(shapes.shape[0], 1))
    return np.concatenate([wh * s for s, wh in zip(shapes, labels)]) if labels else np.zeros((0, 2))


def anchor_metric(wh: torch.Tensor, k: torch.Tensor, thr: float) -> tuple[float, float]:
    """(BPR, anchors above threshold per label) of anchors ``k`` (pixels, (n, 2)) for label sizes ``wh``."""
    r = wh[:, None] / k[None]
    x = torch.min(r, 1 / r).min(2)[0]
    return float((x.max(1)[0] > 1 / thr).float().mean()), float((x > 1 / thr).float().sum(1).mean())


def kmean_anchors(wh0: np.ndarray, n: int, imgsz: int, thr: float = 4.0, gen: int = 1000) -> np.ndarray:
    """``n`` anchors (pixels, sorted small to large) for label sizes ``wh0``: k-means on whitened sizes (random
    init when k-means cannot give ``n``), then ``gen`` generations of mutation keeping the fitter set."""
    from scipy.cluster.vq import kmeans

    thr = 1 / thr
    small = int((wh0 < 3.0).any(1).sum())
    if small:
        LOGGER.warning(f"{PREFIX}{small} of {len(wh0)} labels are < 3 pixels in size")
    wh = wh0[(wh0 >= 2.0).any(1)].astype(np.float32)
    try:
        assert n <= len(wh)
        s = wh.std(0)
        k = kmeans(wh / s, n, iter=30)[0] * s
        assert n == len(k)
    except Exception:
        LOGGER.warning(f"{PREFIX}k-means could not give {n} anchors; starting from random ones")
        k = np.sort(np.random.rand(n * 2)).reshape(n, 2) * imgsz
    wh_t = torch.tensor(wh, dtype=torch.float32)

    def fitness(k):
        r = wh_t[:, None] / torch.tensor(k, dtype=torch.float32)[None]
        best = torch.min(r, 1 / r).min(2)[0].max(1)[0]
        return (best * (best > thr).float()).mean()

    k = k[np.argsort(k.prod(1))]
    f, sh, mp, s = fitness(k), k.shape, 0.9, 0.1  # fitness, shape, mutation probability, sigma
    for _ in range(gen):
        v = np.ones(sh)
        while (v == 1).all():  # mutate until something changes
            v = ((np.random.random(sh) < mp) * random.random() * np.random.randn(*sh) * s + 1).clip(0.3, 3.0)
        kg = (k.copy() * v).clip(min=2.0)
        fg = fitness(kg)
        if fg > f:
            f, k = fg, kg.copy()
    return k[np.argsort(k.prod(1))].astype(np.float32)


def check_anchors(head, shapes: np.ndarray, labels: list[np.ndarray], thr: float = 4.0, imgsz: int = 640,
                  gen: int = 1000) -> dict:
    """YOLOv5's ``check_anchors`` on an ``AnchorDetect`` (anchors in grid units): report BPR and anchors above
    threshold; when BPR < 0.98 compute new anchors and keep them (in ``head.anchors``) if their BPR is higher.
    Returns ``{"bpr", "aat", "new_bpr", "replaced"}``."""
    wh = torch.tensor(label_wh(shapes, labels, imgsz)).float()
    stride = head.stride.to(head.anchors.device).view(-1, 1, 1)
    anchors = head.anchors.clone() * stride
    bpr, aat = anchor_metric(wh, anchors.cpu().view(-1, 2).float(), thr)
    out = {"bpr": bpr, "aat": aat, "new_bpr": None, "replaced": False}
    line = f"{PREFIX}{aat:.2f} anchors/target, {bpr:.3f} Best Possible Recall (BPR). "
    if bpr > BPR_THRESHOLD:
        LOGGER.info(f"{line}Current anchors are a good fit to dataset")
        return out
    LOGGER.info(f"{line}Anchors are a poor fit to dataset, computing new ones (k-means + evolution)...")
    na = head.anchors.numel() // 2
    wh0 = label_wh(shapes, labels, imgsz, augment=False)
    new = kmean_anchors(wh0, na, imgsz, thr, gen)
    out["new_bpr"] = new_bpr = anchor_metric(wh, torch.tensor(new), thr)[0]
    if new_bpr > bpr:
        with torch.no_grad():
            head.anchors[:] = torch.tensor(new, device=head.anchors.device).type_as(head.anchors).view_as(head.anchors)
            check_anchor_order(head)  # in pixels
            head.anchors /= stride
        out["replaced"] = True
        LOGGER.info(f"{PREFIX}new anchors kept (BPR {new_bpr:.3f}): {pixel_anchors(head)}")
    else:
        LOGGER.info(f"{PREFIX}original anchors kept (computed ones reach BPR {new_bpr:.3f}, not better)")
    return out


def pixel_anchors(head) -> list[list[float]]:
    """The head's anchors in pixels, one ``[w1, h1, w2, h2, ...]`` row per level (a yaml's ``anchors:``)."""
    a = (head.anchors.detach().float().cpu() * head.stride.float().cpu().view(-1, 1, 1)).view(head.nl, -1)
    return [[round(float(v), 2) for v in row] for row in a]

"""``AnchorLoss``: YOLOv5's ``ComputeLoss`` (v6.0/v7.0) restated for ultralytics' trainer.

Targets are matched to anchors whose width and height ratios are within ``anchor_t``, in their own cell and the two
nearest neighbouring cells (offset 0.5); box loss 1 - CIoU; objectness BCE against the (detached, clamped) IoU,
weighted per level by ``[4.0, 1.0, 0.4]`` (4 levels: ``[4.0, 1.0, 0.25, 0.06]``); class BCE with label smoothing.
Returns what ultralytics' trainer expects from ``model.loss(batch, preds)``: ``(sum x batch size, {"box_loss",
"obj_loss", "cls_loss"})``.

Gains: the model's ``hyp`` (set by ``AnchorDetectionTrainer`` from its arguments, scaled as YOLOv5's train.py does),
else hyp.scratch-low at imgsz 640.
"""

from __future__ import annotations

import torch
import torch.nn as nn
from ultralytics.utils.metrics import bbox_iou

from yolo_attn.anchor.hyp import loss_hyp

__all__ = ("AnchorLoss", "LOSS_NAMES", "BALANCE")

LOSS_NAMES = ("box_loss", "obj_loss", "cls_loss")
BALANCE = {3: [4.0, 1.0, 0.4]}  # objectness weight per level, P3-P5; otherwise P3-P7 below
BALANCE_DEEP = [4.0, 1.0, 0.25, 0.06, 0.02]
NEIGHBOURS = torch.tensor([[0, 0], [1, 0], [0, 1], [-1, 0], [0, -1]]).float() * 0.5  # own cell, then x-, y-, x+, y+


class _Focal(nn.Module):
    """Focal loss around a mean-reduced BCE-with-logits (used when ``fl_gamma > 0``), as YOLOv5's ``FocalLoss``."""

    def __init__(self, bce: nn.BCEWithLogitsLoss, gamma: float, alpha: float = 0.25):
        super().__init__()
        self.bce, self.gamma, self.alpha = bce, gamma, alpha
        self.bce.reduction = "none"

    def forward(self, pred, true):
        loss = self.bce(pred, true)
        p = torch.sigmoid(pred)
        p_t = true * p + (1 - true) * (1 - p)
        alpha = true * self.alpha + (1 - true) * (1 - self.alpha)
        return (loss * alpha * (1.0 - p_t) ** self.gamma).mean()


class AnchorLoss:
    """YOLOv5's loss for an ``AnchorDetect`` model (de-paralleled)."""

    def __init__(self, model, hyp: dict | None = None):
        device = next(model.parameters()).device
        head = model.model[-1]
        self.hyp = hyp or getattr(model, "hyp", None) or loss_hyp(head.nl, head.nc)
        h = self.hyp
        self.bce_cls = nn.BCEWithLogitsLoss(pos_weight=torch.tensor([h["cls_pw"]], device=device))
        self.bce_obj = nn.BCEWithLogitsLoss(pos_weight=torch.tensor([h["obj_pw"]], device=device))
        if h.get("fl_gamma", 0) > 0:
            self.bce_cls, self.bce_obj = _Focal(self.bce_cls, h["fl_gamma"]), _Focal(self.bce_obj, h["fl_gamma"])
        eps = h.get("label_smoothing", 0.0)
        self.cp, self.cn = 1.0 - 0.5 * eps, 0.5 * eps  # positive, negative class targets
        self.balance = BALANCE.get(head.nl, BALANCE_DEEP[: head.nl])
        self.na, self.nc, self.nl = head.na, head.nc, head.nl
        self.anchors = head.anchors  # grid units, (nl, na, 2)
        self.device = device

    def __call__(self, preds, batch: dict):
        """``preds``: the train output (per-level maps) or the eval ``(y, maps)`` tuple; ``batch``: ultralytics'
        ``batch_idx``, ``cls`` and normalised xywh ``bboxes``."""
        p = preds[1] if isinstance(preds, tuple) else preds
        targets = torch.cat((batch["batch_idx"].view(-1, 1).float(), batch["cls"].view(-1, 1).float(),
                             batch["bboxes"].float()), 1).to(self.device)
        items = self.items(p, targets)
        return items.sum() * p[0].shape[0], dict(zip(LOSS_NAMES, items.detach()))

    def items(self, p, targets: torch.Tensor) -> torch.Tensor:
        """``[box, obj, cls]`` (gains applied) for per-level maps ``p`` and YOLOv5 targets (image, class, x, y, w, h)."""
        lbox, lobj, lcls = (torch.zeros(1, device=self.device) for _ in range(3))
        tcls, tbox, indices, anchors = self.build_targets(p, targets)
        for i, pi in enumerate(p):
            b, a, gj, gi = indices[i]
            tobj = torch.zeros(pi.shape[:4], dtype=pi.dtype, device=self.device)
            if b.shape[0]:
                pxy, pwh, _, pcls = pi[b, a, gj, gi].split((2, 2, 1, self.nc), 1)
                pbox = torch.cat((pxy.sigmoid() * 2 - 0.5, (pwh.sigmoid() * 2) ** 2 * anchors[i]), 1)
                iou = bbox_iou(pbox, tbox[i], xywh=True, CIoU=True).squeeze(-1)
                lbox += (1.0 - iou).mean()
                tobj[b, a, gj, gi] = iou.detach().clamp(0).type(tobj.dtype)  # objectness target: the IoU (gr = 1)
                if self.nc > 1:  # one class: objectness says it all
                    t = torch.full_like(pcls, self.cn)
                    t[range(b.shape[0]), tcls[i]] = self.cp
                    lcls += self.bce_cls(pcls, t)
            lobj += self.bce_obj(pi[..., 4], tobj) * self.balance[i]
        return torch.cat((lbox * self.hyp["box"], lobj * self.hyp["obj"], lcls * self.hyp["cls"]))

    def build_targets(self, p, targets: torch.Tensor):
        """Per level: target classes, boxes (xy offset in the cell, wh in grid units), (image, anchor, gj, gi) and the
        matched anchors. A target goes to every anchor whose w and h ratios are within ``anchor_t``, in its own cell
        and in the two neighbouring cells whose borders its centre is nearer than half a cell to."""
        na, nt = self.na, targets.shape[0]
        tcls, tbox, indices, anch = [], [], [], []
        gain = torch.ones(7, device=self.device)
        ai = torch.arange(na, device=self.device).float().view(na, 1).repeat(1, nt)
        targets = torch.cat((targets.repeat(na, 1, 1), ai[..., None]), 2)  # (na, nt, 7): + anchor index
        off = NEIGHBOURS.to(self.device)
        for i in range(self.nl):
            anchors, shape = self.anchors[i], p[i].shape
            gain[2:6] = torch.tensor(shape, device=self.device)[[3, 2, 3, 2]].float()  # normalised -> grid units
            t = targets * gain
            if nt:
                r = t[..., 4:6] / anchors[:, None]
                t = t[torch.max(r, 1 / r).max(2)[0] < self.hyp["anchor_t"]]
                gxy = t[:, 2:4]
                gxi = gain[[2, 3]] - gxy
                j, k = ((gxy % 1 < 0.5) & (gxy > 1)).T
                l, m = ((gxi % 1 < 0.5) & (gxi > 1)).T
                j = torch.stack((torch.ones_like(j), j, k, l, m))
                t = t.repeat((5, 1, 1))[j]
                offsets = (torch.zeros_like(gxy)[None] + off[:, None])[j]
            else:
                t, offsets = targets[0], 0
            bc, gxy, gwh, a = t.chunk(4, 1)
            a, (b, c) = a.long().view(-1), bc.long().T
            gij = (gxy - offsets).long()
            gi, gj = gij.T
            indices.append((b, a, gj.clamp_(0, shape[2] - 1), gi.clamp_(0, shape[3] - 1)))
            tbox.append(torch.cat((gxy - gij, gwh), 1))
            anch.append(anchors[a])
            tcls.append(c)
        return tcls, tbox, indices, anch

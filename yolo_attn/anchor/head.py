"""``AnchorDetect``: the YOLOv5 v6.0/v7.0 detection head (anchor boxes + objectness), restated for ultralytics.

Parameters, state-dict names (``m.0.weight``, ``anchors``), initialisation and the train-mode output are YOLOv5's
``Detect``; the eval output is ultralytics' ``(B, 4 + nc, N)`` (xywh in pixels, class score = objectness x class
probability, rows in YOLOv5's order level -> anchor -> y -> x), so ultralytics' NMS, validator, predictor and exporters
work unchanged. It subclasses ultralytics' ``Detect`` only so the code that looks for "a Detect head"
(``DetectionModel``'s stride probe and ``bias_init`` call, ``BaseModel._apply``, the exporter's mode flags) finds it;
none of ``Detect``'s layers are built.
"""

from __future__ import annotations

import math

import torch
import torch.nn as nn
from ultralytics.nn.modules.head import Detect

__all__ = ("AnchorDetect", "LevelMaps", "check_anchor_order")


class LevelMaps(list):
    """The train-mode output: YOLOv5's list of per-level maps ``(B, na, ny, nx, 5 + nc)``. ultralytics'
    ``DetectionModel`` probes strides with ``output["feats"]`` and ``"one2many" in output``; both read this list."""

    def __getitem__(self, key):
        return self if key == "feats" else super().__getitem__(key)

    def __contains__(self, key):
        return False if isinstance(key, str) else super().__contains__(key)


class _BufferAttr:
    """Shadows ``Detect.anchors`` (a class-level placeholder tensor) so ``anchors`` can be a registered buffer, as
    in YOLOv5 (state-dict key ``<i>.anchors``); reads the buffer, and is "absent" until it is registered."""

    def __init__(self, name: str):
        self.name = name

    def __get__(self, obj, owner=None):
        if obj is None:
            return self
        try:
            return obj.__dict__["_buffers"][self.name]
        except KeyError:
            raise AttributeError(self.name) from None


def check_anchor_order(m) -> None:
    """YOLOv5's ``check_anchor_order``: flip the levels' anchors when their area order disagrees with the strides'."""
    a = m.anchors.prod(-1).mean(-1).view(-1)  # mean anchor area per level
    da, ds = a[-1] - a[0], m.stride[-1] - m.stride[0]
    if da and (da.sign() != ds.sign()):
        m.anchors[:] = m.anchors.flip(0)


class AnchorDetect(Detect):
    """YOLOv5's ``Detect(nc, anchors, ch)``: one 1x1 conv per level to ``na * (5 + nc)`` outputs.

    ``anchors``: pixel (w, h) pairs per level (``[[10, 13, 16, 30, 33, 23], ...]``), or an int = anchors per level
    to be computed by AutoAnchor (placeholders as YOLOv5 writes them). After the model build (``bias_init``) the
    ``anchors`` buffer holds grid units, shape ``(nl, na, 2)``, as in YOLOv5.
    """

    anchors = _BufferAttr("anchors")
    # ultralytics' BaseModel.load compares the Detect branches of source and target (cv2 widths, then cv3 when set);
    # this head has neither: equal empty lists, and no cv3 to rebuild
    cv2, cv3 = (), None
    head_kind = "anchor"  # read by the run naming / compare grouping: YOLOv5 v6/v7 anchor-based head

    def __init__(self, nc: int = 80, anchors=(), ch=(), inplace: bool = True):
        nn.Module.__init__(self)  # none of ultralytics' Detect layers
        if isinstance(anchors, int):  # anchors: 3 -> placeholders that AutoAnchor replaces (YOLOv5's parse_model)
            anchors = [list(range(anchors * 2))] * len(ch)
        if len(anchors) != len(ch):
            raise ValueError(f"{len(anchors)} anchor levels for {len(ch)} Detect inputs; give one anchor row per input")
        self.nc = nc
        self.no = nc + 5  # outputs per anchor: xywh, objectness, classes
        self.nl = len(anchors)
        self.na = len(anchors[0]) // 2
        self.reg_max = 1  # not a DFL head (read by some ultralytics code paths)
        self.grid = [torch.empty(0) for _ in range(self.nl)]
        self.anchor_grid = [torch.empty(0) for _ in range(self.nl)]
        self.register_buffer("anchors", torch.tensor(anchors).float().view(self.nl, -1, 2))
        self.stride = torch.zeros(self.nl)
        self.m = nn.ModuleList(nn.Conv2d(x, self.no * self.na, 1) for x in ch)
        self.inplace = inplace
        self._anchors_in_grid = False  # bias_init turns pixels into grid units once

    # ultralytics' Detect properties that assume its cv2/cv3 branches
    @property
    def one2many(self):
        return {}

    @property
    def end2end(self):
        return False

    @end2end.setter
    def end2end(self, value):
        pass

    def fuse(self) -> None:
        """Nothing to remove (ultralytics' Detect drops an unused one-to-one branch here)."""

    def bias_init(self) -> None:
        """What YOLOv5's ``Model.__init__`` does once strides are known: order anchors as the strides, turn them into
        grid units, and set the objectness (8 objects per 640 image) and class (0.6 / nc) bias priors."""
        if self._anchors_in_grid:
            return
        check_anchor_order(self)
        self.anchors /= self.stride.view(-1, 1, 1).to(self.anchors)
        self._anchors_in_grid = True
        for mi, s in zip(self.m, self.stride):
            b = mi.bias.view(self.na, -1)
            b.data[:, 4] += math.log(8 / (640 / s) ** 2)
            b.data[:, 5:5 + self.nc] += math.log(0.6 / (self.nc - 0.99999))
            mi.bias = nn.Parameter(b.view(-1), requires_grad=True)

    def forward(self, x):
        """Train: ``LevelMaps`` of ``(B, na, ny, nx, 5 + nc)`` logits. Eval: ``(y, maps)`` with ``y`` of shape
        ``(B, 4 + nc, N)``; export: ``y`` alone."""
        maps = LevelMaps()
        for i in range(self.nl):
            bs, _, ny, nx = x[i].shape
            maps.append(self.m[i](x[i]).view(bs, self.na, self.no, ny, nx).permute(0, 1, 3, 4, 2).contiguous())
        if self.training:
            return maps
        y = self._inference(maps)
        return y if self.export else (y, maps)

    def _inference(self, maps) -> torch.Tensor:
        """YOLOv5's decoding (``xy = (2 sigmoid + grid - 0.5) stride``, ``wh = (2 sigmoid)^2 anchor``), then
        ultralytics' layout: ``(B, 4 + nc, N)`` with scores = objectness x class probability."""
        z = []
        for i, p in enumerate(maps):
            bs, _, ny, nx, _ = p.shape
            if self.dynamic or self.grid[i].shape[2:4] != p.shape[2:4] or self.grid[i].device != p.device:
                self.grid[i], self.anchor_grid[i] = self._make_grid(nx, ny, i)
            xy, wh, conf, cls = p.sigmoid().split((2, 2, 1, self.nc), 4)
            xy = (xy * 2 + self.grid[i].to(p.dtype)) * self.stride[i]
            wh = (wh * 2) ** 2 * self.anchor_grid[i].to(p.dtype)
            if self.xyxy:  # set by the exporter for formats with NMS built in
                xy, wh = xy - wh / 2, xy + wh / 2
            z.append(torch.cat((xy, wh, conf * cls), 4).view(bs, self.na * ny * nx, 4 + self.nc))
        return torch.cat(z, 1).permute(0, 2, 1)

    def _make_grid(self, nx: int, ny: int, i: int):
        d, t = self.anchors.device, self.anchors.dtype
        shape = 1, self.na, ny, nx, 2
        yv, xv = torch.meshgrid(torch.arange(ny, device=d, dtype=t), torch.arange(nx, device=d, dtype=t), indexing="ij")
        grid = torch.stack((xv, yv), 2).expand(shape) - 0.5  # offset so that xy = 2 sigmoid - 0.5 + cell
        anchor_grid = (self.anchors[i] * self.stride[i].to(t)).view((1, self.na, 1, 1, 2)).expand(shape)
        return grid, anchor_grid

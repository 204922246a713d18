"""BAM: the bottleneck attention module.

Park, Woo, Lee, Kweon, "BAM: Bottleneck Attention Module", BMVC 2018, https://arxiv.org/abs/1807.06514. Reference
code: Jongchan/attention-module ``MODELS/bam.py`` (``BAM``, ``ChannelGate``, ``SpatialGate``): a channel branch
(global average pool, FC, BatchNorm1d, ReLU, FC) and a spatial branch (1x1 conv, BatchNorm, ReLU, two dilated 3x3
convs with BatchNorm and ReLU, 1x1 conv to one map) are broadcast together, and the input is scaled by
``1 + sigmoid(channel * spatial)``: a residual attention that starts near ``1.5 x`` and can only amplify.

Two departures from the official code, both where it fails on a detector's inputs:

* pooling: the official ``F.avg_pool2d(x, x.size(2), stride=x.size(2))`` uses the height as the window on both
  axes. On a square map that is the global average (identical numbers); on a rectangular one (ultralytics' ``rect``
  validation batches, any non-square ``imgsz``) it averages only the left ``H x H`` block or breaks the following
  ``Linear`` with a shape error. Here it is the global average on every shape.
* batch of one in training: BatchNorm with a single value per channel raises in the official code; here it
  normalises with the running statistics instead (as SRM does).
"""

import torch
import torch.nn as nn

from yolo_attn.models._norm import batch_norm
from yolo_attn.registry import register_attention, check_reduction

__all__ = ("BAM",)


def _run(seq: nn.Sequential, z: torch.Tensor) -> torch.Tensor:
    for layer in seq:
        z = batch_norm(layer, z) if isinstance(layer, nn.modules.batchnorm._BatchNorm) else layer(z)
    return z


class ChannelGate(nn.Module):
    """BAM's channel branch, (B, C, H, W) -> (B, C, 1, 1). Layer names equal the official ``gate_c``."""

    def __init__(self, c1: int, reduction: int = 16, num_layers: int = 1):
        super().__init__()
        hidden = check_reduction(c1, reduction)
        widths = [c1] + [hidden] * num_layers + [c1]
        self.gate_c = nn.Sequential()
        self.gate_c.add_module("flatten", nn.Flatten())
        for i in range(len(widths) - 2):
            self.gate_c.add_module(f"gate_c_fc_{i}", nn.Linear(widths[i], widths[i + 1]))
            self.gate_c.add_module(f"gate_c_bn_{i + 1}", nn.BatchNorm1d(widths[i + 1]))
            self.gate_c.add_module(f"gate_c_relu_{i + 1}", nn.ReLU())
        self.gate_c.add_module("gate_c_fc_final", nn.Linear(widths[-2], widths[-1]))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return _run(self.gate_c, x.mean((2, 3), keepdim=True)).view(x.shape[0], -1, 1, 1)


class SpatialGate(nn.Module):
    """BAM's spatial branch, (B, C, H, W) -> (B, 1, H, W). Layer names equal the official ``gate_s``."""

    def __init__(self, c1: int, reduction: int = 16, dilation_conv_num: int = 2, dilation: int = 4):
        super().__init__()
        hidden = check_reduction(c1, reduction)
        self.gate_s = nn.Sequential()
        self.gate_s.add_module("gate_s_conv_reduce0", nn.Conv2d(c1, hidden, kernel_size=1))
        self.gate_s.add_module("gate_s_bn_reduce0", nn.BatchNorm2d(hidden))
        self.gate_s.add_module("gate_s_relu_reduce0", nn.ReLU())
        for i in range(dilation_conv_num):
            self.gate_s.add_module(f"gate_s_conv_di_{i}",
                                   nn.Conv2d(hidden, hidden, kernel_size=3, padding=dilation, dilation=dilation))
            self.gate_s.add_module(f"gate_s_bn_di_{i}", nn.BatchNorm2d(hidden))
            self.gate_s.add_module(f"gate_s_relu_di_{i}", nn.ReLU())
        self.gate_s.add_module("gate_s_conv_final", nn.Conv2d(hidden, 1, kernel_size=1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return _run(self.gate_s, x)


@register_attention
class BAM(nn.Module):
    """Bottleneck attention: ``x * (1 + sigmoid(channel(x) * spatial(x)))``.

    Args:
        c1 (int): input channels C (filled in from the yaml ``from`` layer).
        reduction (int): bottleneck ratio of both branches (official ``reduction_ratio``, 16).
        dilation (int): dilation (and padding) of the spatial branch's 3x3 convs (official ``dilation_val``, 4).

    Shapes:
        x: (B, C, H, W) -> (B, C, H, W)

    Parameter names equal the official ``BAM`` (``channel_att.gate_c.*``, ``spatial_att.gate_s.*``), so its state
    dicts load unchanged.
    """

    def __init__(self, c1: int, reduction: int = 16, dilation: int = 4):
        super().__init__()
        if not isinstance(dilation, int) or isinstance(dilation, bool) or dilation < 1:
            raise ValueError(f"BAM dilation must be a positive integer, got {dilation!r}; write e.g. 4")
        self.channel_att = ChannelGate(c1, reduction)
        self.spatial_att = SpatialGate(c1, reduction, dilation=dilation)

    def spatial_weights(self, x: torch.Tensor) -> torch.Tensor:
        """The attention map ``sigmoid(channel * spatial)`` in (0, 1), (B, C, H, W); the output is ``x * (1 + it)``."""
        return torch.sigmoid(self.channel_att(x) * self.spatial_att(x))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * (1 + self.spatial_weights(x))

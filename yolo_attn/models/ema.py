"""EMA: efficient multi-scale attention with cross-spatial learning.

Ouyang et al., "Efficient Multi-Scale Attention Module with Cross-Spatial Learning", ICASSP 2023,
https://arxiv.org/abs/2305.13563. Reference code: seed 004 (``EMA``), the same as YOLOonMe/EMA-attention-module.
"""

import torch
import torch.nn as nn

from yolo_attn.registry import register_attention, check_channels

__all__ = ("EMA",)


@register_attention
class EMA(nn.Module):
    """Grouped 1x1 (coordinate) and 3x3 branches whose pooled descriptors cross-weight each other.

    Args:
        c1 (int): input channels C (filled in from the yaml ``from`` layer); must be divisible by ``factor``.
        factor (int): number of channel groups G; each group has ``C // G`` channels.

    Shapes:
        x: (B, C, H, W) -> (B, C, H, W)

    Parameter names equal the seed's (``gn``, ``conv1x1``, ``conv3x3``). The seed's unused ``c2`` argument is dropped:
    in a yaml the arguments after the channels are just ``[factor]``.
    """

    def __init__(self, c1: int, factor: int = 32):
        super().__init__()
        check_channels("EMA", c1)
        if not isinstance(factor, int) or isinstance(factor, bool) or factor < 1:
            raise ValueError(f"EMA factor must be a positive integer number of groups, got {factor!r}; write e.g. 8 or 32")
        if c1 % factor:
            fits = [g for g in (32, 16, 8, 4, 2, 1) if c1 % g == 0][0]
            raise ValueError(
                f"EMA needs channels divisible by factor: {c1} channels, factor {factor} "
                f"({c1} % {factor} = {c1 % factor}); write factor {fits}"
            )
        self.groups = factor
        cg = c1 // factor
        self.softmax = nn.Softmax(-1)
        self.agp = nn.AdaptiveAvgPool2d((1, 1))
        self.gn = nn.GroupNorm(cg, cg)
        self.conv1x1 = nn.Conv2d(cg, cg, kernel_size=1, stride=1, padding=0)
        self.conv3x3 = nn.Conv2d(cg, cg, kernel_size=3, stride=1, padding=1)

    def spatial_weights(self, x: torch.Tensor) -> torch.Tensor:
        """Per-pixel weights in (0, 1) for each group, shape (B*G, 1, H, W)."""
        b, c, h, w = x.shape
        g = self.groups
        group_x = x.reshape(b * g, c // g, h, w)
        x_h = group_x.mean(3, keepdim=True)  # (BG, C/G, H, 1)
        x_w = group_x.mean(2, keepdim=True).transpose(2, 3)  # (BG, C/G, W, 1)
        hw = self.conv1x1(torch.cat([x_h, x_w], dim=2))
        x_h, x_w = torch.split(hw, [h, w], dim=2)
        x1 = self.gn(group_x * x_h.sigmoid() * x_w.transpose(2, 3).sigmoid())
        x2 = self.conv3x3(group_x)
        x11 = self.softmax(x1.mean((2, 3)).unsqueeze(1))  # (BG, 1, C/G)
        x21 = self.softmax(x2.mean((2, 3)).unsqueeze(1))
        x12 = x2.reshape(b * g, c // g, -1)
        x22 = x1.reshape(b * g, c // g, -1)
        weights = (torch.matmul(x11, x12) + torch.matmul(x21, x22)).reshape(b * g, 1, h, w)
        return weights.sigmoid()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c, h, w = x.shape
        group_x = x.reshape(b * self.groups, c // self.groups, h, w)
        return (group_x * self.spatial_weights(x)).reshape(b, c, h, w)

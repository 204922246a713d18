"""Triplet attention.

Misra, Nalamada, Arasanipalai, Hou, "Rotate to Attend: Convolutional Triplet Attention Module", WACV 2021,
https://arxiv.org/abs/2010.03045. Reference code: landskape-ai/triplet-attention ``triplet_attention.py``
(``TripletAttention``): three branches, each pools one axis of (C, H, W) to its max and mean (Z-pool), runs a 7x7
conv + BatchNorm + sigmoid over the other two, and the three gated tensors are averaged.

The official code rotates the input for the C-W and H-C branches and averages three gated copies of it; here the three
gates are broadcast to (B, C, H, W) and averaged first, ``x * (g_hw + g_cw + g_hc) / 3``: the same function, with the
gate readable as one weight tensor and without the rotated copies.
"""

import torch
import torch.nn as nn

from yolo_attn.registry import register_attention, check_channels

__all__ = ("TripletAttention", "AttentionGate")


class ConvBN(nn.Module):
    """Conv (no bias) + BatchNorm, the official ``BasicConv`` with ``relu=False``, eps 1e-5 and momentum 0.01."""

    def __init__(self, c1: int, c2: int, k: int):
        super().__init__()
        self.conv = nn.Conv2d(c1, c2, k, padding=(k - 1) // 2, bias=False)
        self.bn = nn.BatchNorm2d(c2, eps=1e-5, momentum=0.01, affine=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.bn(self.conv(x))


class AttentionGate(nn.Module):
    """Gate over the last two axes from the max and mean over axis 1. x: (B, A, D1, D2) -> weights (B, 1, D1, D2)."""

    def __init__(self, kernel_size: int = 7):
        super().__init__()
        self.conv = ConvBN(2, 1, kernel_size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.conv(torch.cat((x.amax(1, keepdim=True), x.mean(1, keepdim=True)), 1)))


@register_attention
class TripletAttention(nn.Module):
    """Three-branch cross-dimension attention (C-W, H-C and H-W interactions).

    Args:
        c1 (int): input channels C (filled in from the yaml ``from`` layer; the module has no per-channel
            parameters, the value is only checked).
        no_spatial (bool): drop the H-W branch and average the other two, as the official ``no_spatial``.

    Shapes:
        x: (B, C, H, W) -> (B, C, H, W)

    Parameter names equal the official ``TripletAttention`` (``cw``, ``hc``, ``hw``, each ``conv.conv``/``conv.bn``).
    """

    def __init__(self, c1: int, no_spatial: bool = False):
        super().__init__()
        check_channels("TripletAttention", c1)
        if not isinstance(no_spatial, bool):
            raise ValueError(f"TripletAttention no_spatial must be True or False, got {no_spatial!r}")
        self.cw = AttentionGate()
        self.hc = AttentionGate()
        self.no_spatial = no_spatial
        if not no_spatial:
            self.hw = AttentionGate()

    def spatial_weights(self, x: torch.Tensor) -> torch.Tensor:
        """The averaged gates in (0, 1), broadcast to shape (B, C, H, W); ``forward(x) == x * spatial_weights(x)``."""
        g_cw = self.cw(x.transpose(1, 2)).transpose(1, 2)  # pools H: (B, C, 1, W)
        g_hc = self.hc(x.permute(0, 3, 2, 1)).permute(0, 3, 2, 1)  # pools W: (B, C, H, 1)
        if self.no_spatial:
            return (g_cw + g_hc) / 2
        return (self.hw(x) + g_cw + g_hc) / 3  # pools C: (B, 1, H, W)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.spatial_weights(x)

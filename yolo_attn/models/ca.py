"""Coordinate attention.

Hou, Zhou, Feng, "Coordinate Attention for Efficient Mobile Network Design", CVPR 2021,
https://arxiv.org/abs/2103.02907. Reference code: houqb/CoordAttention ``coordatt.py`` (``CoordAtt``): average pooling
along W and along H, a shared 1x1 conv + BatchNorm + h-swish over both strips, then one 1x1 conv + sigmoid per
direction. The official ``h_swish`` (``x * relu6(x + 3) / 6``) is ``nn.Hardswish``.

Export: the official ``AdaptiveAvgPool2d((None, 1))`` / ``((1, None))`` are written here as means over W and H, which
ONNX exports as ``ReduceMean`` for any input size (adaptive pooling with a ``None`` size does not export with dynamic
shapes, houqb/CoordAttention#6, pytorch#42653); the strips are split by slicing at ``h``.
"""

from __future__ import annotations

import torch
import torch.nn as nn

from yolo_attn.registry import check_channels, check_positive_int, register_attention

__all__ = ("CA",)


@register_attention
class CA(nn.Module):
    """Coordinate attention: one weight per row and one per column, per channel.

    Args:
        c1 (int): input channels C (filled in from the yaml ``from`` layer); output channels equal C (the official
            ``oup``).
        reduction (int): bottleneck ratio; the hidden width is ``max(8, C // reduction)`` as in the official code, so
            any positive reduction is valid at any width (``CA(16)`` has 8 hidden units).

    Shapes:
        x: (B, C, H, W) -> (B, C, H, W)

    Parameter names equal the official ``CoordAtt`` (``conv1``, ``bn1``, ``conv_h``, ``conv_w``).
    """

    def __init__(self, c1: int, reduction: int = 32):
        super().__init__()
        check_channels("CA", c1)
        check_positive_int("reduction", reduction, example=32)
        mip = max(8, c1 // reduction)
        self.conv1 = nn.Conv2d(c1, mip, kernel_size=1, stride=1, padding=0)
        self.bn1 = nn.BatchNorm2d(mip)
        self.act = nn.Hardswish()
        self.conv_h = nn.Conv2d(mip, c1, kernel_size=1, stride=1, padding=0)
        self.conv_w = nn.Conv2d(mip, c1, kernel_size=1, stride=1, padding=0)

    def hw_weights(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Row weights (B, C, H, 1) and column weights (B, C, 1, W), each in (0, 1)."""
        h = x.shape[2]
        x_h = x.mean(3, keepdim=True)  # (B, C, H, 1)
        x_w = x.mean(2, keepdim=True).transpose(2, 3)  # (B, C, W, 1)
        y = self.act(self.bn1(self.conv1(torch.cat((x_h, x_w), 2))))  # one BatchNorm over both strips, as official
        a_h = self.conv_h(y[:, :, :h]).sigmoid()
        a_w = self.conv_w(y[:, :, h:].transpose(2, 3)).sigmoid()
        return a_h, a_w

    def spatial_weights(self, x: torch.Tensor) -> torch.Tensor:
        """Per-pixel weights ``a_h * a_w`` in (0, 1), shape (B, C, H, W)."""
        a_h, a_w = self.hw_weights(x)
        return a_h * a_w

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a_h, a_w = self.hw_weights(x)
        return x * a_w * a_h

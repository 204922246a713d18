"""Squeeze-and-Excitation attention.

Hu, Shen, Sun, "Squeeze-and-Excitation Networks", CVPR 2018, https://arxiv.org/abs/1709.01507.
Reference code: seed 001 (``SElayer``), no bias in the two linear layers as in the seed.
"""

import torch
import torch.nn as nn

from yolo_attn.models._scale import scale_channels
from yolo_attn.registry import register_attention, check_reduction

__all__ = ("SE",)


@register_attention
class SE(nn.Module):
    """Channel attention from globally average-pooled features through a bottleneck MLP.

    Args:
        c1 (int): input channels C (filled in from the yaml ``from`` layer).
        reduction (int): bottleneck ratio r; the hidden layer has ``C // r`` units.

    Shapes:
        x: (B, C, H, W) -> (B, C, H, W)

    Parameter names equal the seed's (``fc.0.weight``, ``fc.2.weight``) so seed state dicts load unchanged.
    """

    def __init__(self, c1: int, reduction: int = 16):
        super().__init__()
        hidden = check_reduction(c1, reduction)
        self.fc = nn.Sequential(
            nn.Linear(c1, hidden, bias=False),
            nn.ReLU(inplace=True),
            nn.Linear(hidden, c1, bias=False),
            nn.Sigmoid(),
        )

    def channel_weights(self, x: torch.Tensor) -> torch.Tensor:
        """Per-channel weights in (0, 1), shape (B, C, 1, 1)."""
        return self.fc(x.mean((2, 3))).view(x.shape[0], x.shape[1], 1, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return scale_channels(x, self.channel_weights(x))  # x * w; its training backward is cheaper

"""NAM: normalization-based attention.

Liu, Shao, Zhang, Shen, Hoffmann, "NAM: Normalization-based Attention Module", NeurIPS 2021 Workshop,
https://arxiv.org/abs/2111.12419. Reference code: Christian-lyc/NAM ``MODELS/attention.py`` (``Channel_Att``; ``Att``
with its default ``no_spatial=True``): BatchNorm, each channel scaled by its share ``|gamma_c| / sum |gamma|`` of the
BatchNorm weights (taken from ``.data`` in the official code, so no gradient flows through the share), sigmoid, times
the input: ``sigmoid(bn(x) * share) * x``, as in the paper's equation and the repository's current code (commit
c76abf4). One superseded commit (768b859) had a ReLU before the sigmoid, which confines the weights to [0.5, 1);
yolo_attn <= 0.1.0 followed it (see the README on loading such checkpoints).

The official pixel attention (``Spatial_Att``, off by default) is a BatchNorm1d over the ``H*W`` positions, which
fixes the input size at build time; it does not fit a detector that runs at any image size and is not included.
"""

import torch
import torch.nn as nn

from yolo_attn.registry import register_attention, check_channels

__all__ = ("NAM",)


@register_attention
class NAM(nn.Module):
    """Channel attention weighted by the BatchNorm scale factors.

    Args:
        c1 (int): input channels C (filled in from the yaml ``from`` layer).

    Shapes:
        x: (B, C, H, W) -> (B, C, H, W)

    Parameter names equal the official ``Channel_Att`` (``bn2``). In training the BatchNorm uses batch statistics, so
    a batch of one 1x1 map fails there exactly as in the official code.
    """

    def __init__(self, c1: int):
        super().__init__()
        check_channels("NAM", c1)
        self.bn2 = nn.BatchNorm2d(c1, affine=True)

    def channel_weights(self, x: torch.Tensor) -> torch.Tensor:
        """Per-channel, per-pixel weights in (0, 1), shape (B, C, H, W)."""
        gamma = self.bn2.weight.detach().abs()
        share = (gamma / gamma.sum()).view(1, -1, 1, 1)
        return torch.sigmoid(self.bn2(x) * share)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.channel_weights(x)

"""ECA: efficient channel attention.

Wang, Wu, Zhu, Li, Zuo, Hu, "ECA-Net: Efficient Channel Attention for Deep Convolutional Neural Networks", CVPR 2020,
https://arxiv.org/abs/1910.03151. Reference code: BangguWu/ECANet ``models/eca_module.py`` (``eca_layer``): global
average pooling, a 1-D convolution of kernel ``k`` across channels without bias, sigmoid.
"""

from __future__ import annotations

import math

import torch
import torch.nn as nn

from yolo_attn.registry import register_attention, check_channels

__all__ = ("ECA", "eca_kernel_size")


def eca_kernel_size(c1: int, gamma: int = 2, b: int = 1) -> int:
    """The paper's adaptive kernel size ``k = |log2(C) / gamma + b / gamma|_odd`` (eq. 12)."""
    k = int(abs((math.log2(c1) + b) / gamma))
    return k if k % 2 else k + 1


@register_attention
class ECA(nn.Module):
    """Channel attention from a 1-D convolution over the globally average-pooled channel descriptor.

    Args:
        c1 (int): input channels C (filled in from the yaml ``from`` layer).
        k_size (int | None): odd kernel size of the cross-channel conv; the official ``eca_layer`` default is 3.
            ``None`` picks the paper's adaptive size from C (e.g. 5 for C = 256 or 512).

    Shapes:
        x: (B, C, H, W) -> (B, C, H, W)

    Parameter name equals the official ``eca_layer`` (``conv.weight``), so its state dicts load unchanged.
    """

    def __init__(self, c1: int, k_size: int | None = 3):
        super().__init__()
        check_channels("ECA", c1)
        if k_size is None:
            k_size = eca_kernel_size(c1)
        if not isinstance(k_size, int) or isinstance(k_size, bool) or k_size < 1 or k_size % 2 == 0:
            raise ValueError(
                f"ECA k_size must be a positive odd integer (or None for the paper's adaptive size), got {k_size!r}; "
                "write e.g. 3 or 5"
            )
        self.conv = nn.Conv1d(1, 1, kernel_size=k_size, padding=(k_size - 1) // 2, bias=False)

    def channel_weights(self, x: torch.Tensor) -> torch.Tensor:
        """Per-channel weights in (0, 1), shape (B, C, 1, 1)."""
        y = x.mean((2, 3)).unsqueeze(1)  # (B, 1, C): channels as the 1-D sequence
        return self.conv(y).sigmoid().transpose(1, 2).unsqueeze(-1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.channel_weights(x)

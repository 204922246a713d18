"""SRM: style-based recalibration.

Lee, Kim, Nam, "SRM: A Style-based Recalibration Module for Convolutional Neural Networks", ICCV 2019,
https://arxiv.org/abs/1903.10829. Reference code: seed 000 (``SRMLayer``) and the authors' ``SRMLayer``
(hyunjaelee410/style-based-recalibration-module).
"""

import torch
import torch.nn as nn

from yolo_attn.models._norm import batch_norm
from yolo_attn.models._scale import scale_channels
from yolo_attn.registry import register_attention, check_channels

__all__ = ("SRM", "style_stats")


def style_stats(flat: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean and unbiased std over the last dim, (B, C, N) -> (B, C), (B, C); N > 1.

    On CPU, two streaming reductions (the mean, and the root sum of squares through ``vector_norm``) that read
    ``flat`` and allocate nothing of its size: several times faster than ``torch.var_mean``'s Welford kernel.
    ``var = (sum(x^2) - N mean^2) / (N - 1)`` loses ``~1e-7 * (1 + mean^2 / var)`` relative accuracy to
    cancellation, so rows whose mean outweighs their spread (``mean^2 > var``) go back to ``torch.var_mean``; typical
    feature maps (|mean| below the std) never do. CUDA and torch.compile use ``var_mean`` (fast there), and so does
    tracing (TorchScript and ONNX export): a trace would freeze the data-dependent choice for every later input.
    """
    if flat.is_cuda or torch.compiler.is_compiling() or torch.jit.is_tracing():
        var, mean = torch.var_mean(flat, -1, correction=1)
        return mean, var.sqrt()
    n = flat.shape[-1]
    mean = flat.mean(-1)
    mean_sq = mean.square()
    sum_sq = torch.linalg.vector_norm(flat, dim=-1).square()
    if bool((2 * n * mean_sq > sum_sq).any()):  # mean^2 > biased var: cancellation would cost digits
        var, mean = torch.var_mean(flat, -1, correction=1)
        return mean, var.sqrt()
    var = (sum_sq - n * mean_sq).clamp_(min=0) / (n - 1)  # clamp: rounding can dip a zero variance below 0
    return mean, var.sqrt()


@register_attention
class SRM(nn.Module):
    """Channel weights from each channel's style (mean, std) through a channel-wise FC, BatchNorm and sigmoid.

    Args:
        c1 (int): input channels C (filled in from the yaml ``from`` layer).

    Shapes:
        x: (B, C, H, W) -> (B, C, H, W)

    Parameters follow the authors' layout, not the seed's: ``cfc`` is a ``(C, 2)`` tensor initialised to zero
    (the seed's grouped ``Conv1d(C, C, 2, groups=C)`` holds the same numbers as ``(C, 1, 2)``:
    ``cfc = seed.cfc.weight.view(C, 2)``), so the style integration is one fused multiply-add instead of a conv.
    ``bn`` holds the same state as the seed's BatchNorm1d.

    Edge cases the seed crashes or returns NaN on: a 1x1 map has std 0 (the seed's unbiased std is NaN), and a
    training batch of one image normalises with the running statistics instead of raising.
    """

    def __init__(self, c1: int):
        super().__init__()
        check_channels("SRM", c1)
        self.cfc = nn.Parameter(torch.zeros(c1, 2))
        self.bn = nn.BatchNorm2d(c1)

    def channel_weights(self, x: torch.Tensor) -> torch.Tensor:
        """Per-channel weights in (0, 1), shape (B, C, 1, 1)."""
        b, c = x.shape[:2]
        flat = x.reshape(b, c, -1)
        if flat.shape[-1] > 1:
            mean, std = style_stats(flat.float())  # fp32: the variance overflows fp16 at |x| ~ 256
            std, mean = std.to(x.dtype), mean.to(x.dtype)
        else:
            mean, std = flat[..., 0], torch.zeros_like(flat[..., 0])
        z = (mean * self.cfc[:, 0] + std * self.cfc[:, 1]).view(b, c, 1, 1)
        return torch.sigmoid(batch_norm(self.bn, z))  # a training batch of one: running statistics

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return scale_channels(x, self.channel_weights(x))  # x * w; its training backward is cheaper

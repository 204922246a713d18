"""Convolutional Block Attention Module.

Woo, Park, Lee, Kweon, "CBAM: Convolutional Block Attention Module", ECCV 2018, https://arxiv.org/abs/1807.06521.
Reference code: seed 002, first (original) listing. Channel attention: one MLP shared by the average- and max-pooled
descriptors, no bias; spatial attention: a ``k x k`` conv over the channel-wise mean and max. The seed's ``CBAM`` class
defaults ``kernel_size=3``; here the default is the paper's 7 (the seed's ``SpatialAttention`` default too).
"""

import torch
import torch.nn as nn
import torch.nn.functional as F

from yolo_attn.models._scale import scale_channels
from yolo_attn.registry import register_attention, check_reduction

__all__ = ("CBAM", "ChannelAttention", "SpatialAttention")


class ChannelAttention(nn.Module):
    """CBAM channel attention. x: (B, C, H, W) -> (B, C, H, W)."""

    def __init__(self, c1: int, reduction: int = 16):
        super().__init__()
        hidden = check_reduction(c1, reduction)
        self.fc = nn.Sequential(
            nn.Conv2d(c1, hidden, 1, bias=False),
            nn.ReLU(inplace=True),
            nn.Conv2d(hidden, c1, 1, bias=False),
        )

    def channel_weights(self, x: torch.Tensor) -> torch.Tensor:
        """Per-channel weights in (0, 1), shape (B, C, 1, 1)."""
        # amax is 3x faster forward; max-with-indices has the cheap backward (a scatter, not a full-size mask)
        peak = F.adaptive_max_pool2d(x, 1) if torch.is_grad_enabled() else x.amax((2, 3), keepdim=True)
        pooled = torch.cat((x.mean((2, 3), keepdim=True), peak), 0)  # one MLP pass for both
        avg_out, max_out = self.fc(pooled).chunk(2, 0)
        return torch.sigmoid(avg_out + max_out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return scale_channels(x, self.channel_weights(x))  # x * w; its training backward is cheaper


class SpatialAttention(nn.Module):
    """CBAM spatial attention. x: (B, C, H, W) -> (B, C, H, W)."""

    def __init__(self, kernel_size: int = 7):
        super().__init__()
        if kernel_size not in (3, 7):
            raise ValueError(f"CBAM kernel_size must be 3 or 7 (the paper's choices), got {kernel_size!r}; write 7")
        self.conv1 = nn.Conv2d(2, 1, kernel_size, padding=kernel_size // 2, bias=False)

    def spatial_weights(self, x: torch.Tensor) -> torch.Tensor:
        """Per-pixel weights in (0, 1), shape (B, 1, H, W)."""
        b, c, h, w = x.shape
        if torch.is_grad_enabled():  # the seed's ops: their backward is a broadcast and a scatter
            pooled = torch.cat((x.mean(1, keepdim=True), x.max(1, keepdim=True)[0]), 1)
        else:  # channel mean as a (1, C) @ (C, H*W) product: one streaming read, ~3x faster on CPU than mean(1)
            avg = torch.matmul(x.new_full((1, c), 1.0 / c), x.reshape(b, c, h * w)).view(b, 1, h, w)
            pooled = torch.cat((avg, x.amax(1, keepdim=True)), 1)
        return torch.sigmoid(self.conv1(pooled))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.spatial_weights(x)


@register_attention
class CBAM(nn.Module):
    """Channel attention followed by spatial attention.

    Args:
        c1 (int): input channels C (filled in from the yaml ``from`` layer).
        reduction (int): channel-MLP bottleneck ratio (the seed's ``ratio``).
        kernel_size (int): spatial conv kernel, 3 or 7.

    Shapes:
        x: (B, C, H, W) -> (B, C, H, W)

    Submodule and parameter names equal the seed's (``channelattention.fc.*``, ``spatialattention.conv1``).
    """

    def __init__(self, c1: int, reduction: int = 16, kernel_size: int = 7):
        super().__init__()
        self.channelattention = ChannelAttention(c1, reduction)
        self.spatialattention = SpatialAttention(kernel_size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.channelattention(x)
        sa = self.spatialattention
        if torch.is_grad_enabled() or _observed(self.channelattention) or _observed(sa):
            return sa(y)
        # inference, nobody holds y (no hooks): scale the channel-attention output in place, one buffer fewer
        return y.mul_(sa.spatial_weights(y))


def _observed(m: nn.Module) -> bool:
    """True when a forward (pre-)hook could keep a reference to ``m``'s input or output tensors."""
    from torch.nn.modules import module as _m

    return bool(m._forward_hooks or m._forward_pre_hooks or _m._global_forward_hooks or _m._global_forward_pre_hooks)

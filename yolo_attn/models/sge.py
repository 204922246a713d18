"""SGE: spatial group-wise enhance.

Li, Hu, Yang, "Spatial Group-wise Enhance: Improving Semantic Feature Learning in Convolutional Networks", 2019,
https://arxiv.org/abs/1905.09646. Reference code: implus/PytorchInsight ``classification/models/imagenet/resnet_sge.py``
(``SpatialGroupEnhance``): the channels are cut into G groups; in each group the dot product of every position with
the group's average feature is normalised over the positions (zero mean, unit std), scaled and shifted by a learnt
per-group ``weight``/``bias`` and gates that group's features through a sigmoid.
"""

import torch
import torch.nn as nn

from yolo_attn.registry import register_attention, check_channels, check_groups

__all__ = ("SGE",)


@register_attention
class SGE(nn.Module):
    """Spatial group-wise enhance: one spatial gate per channel group, from the group's global-local similarity.

    Args:
        c1 (int): input channels C (filled in from the yaml ``from`` layer); must be divisible by ``groups``.
        groups (int): number of groups G (official default 64).

    Shapes:
        x: (B, C, H, W) -> (B, C, H, W)

    Parameter names and initial values equal the official ``SpatialGroupEnhance`` (``weight`` = 0, ``bias`` = 1, each
    of shape (1, G, 1, 1)), so its state dicts load unchanged. The official class takes no channel count; ``c1`` is
    only checked against ``groups``.
    """

    def __init__(self, c1: int, groups: int = 64):
        super().__init__()
        check_channels("SGE", c1)
        check_groups("SGE", c1, groups, "groups", fits=(64, 32, 16, 8, 4, 2, 1))
        self.groups = groups
        self.weight = nn.Parameter(torch.zeros(1, groups, 1, 1))
        self.bias = nn.Parameter(torch.ones(1, groups, 1, 1))

    def spatial_weights(self, x: torch.Tensor) -> torch.Tensor:
        """Per-pixel weights in (0, 1) for each group, shape (B, G, H, W)."""
        b, c, h, w = x.shape
        # the statistics in fp32: x * mean(x) overflows fp16 for |x| ~ 1e4 (autocast or .half() models)
        xg = x.float().reshape(b * self.groups, c // self.groups, h, w)
        t = (xg * xg.mean((2, 3), keepdim=True)).sum(1).reshape(b * self.groups, h * w)
        t = t - t.mean(1, keepdim=True)
        # unbiased std, as the official code; a 1x1 map has none (the official code gives NaN there): t is 0 then
        std = t.std(1, keepdim=True) if h * w > 1 else torch.zeros_like(t)
        t = t / (std + 1e-5)
        return torch.sigmoid(t.reshape(b, self.groups, h, w) * self.weight + self.bias).to(x.dtype)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c, h, w = x.shape
        gate = self.spatial_weights(x).reshape(b * self.groups, 1, h, w)
        return (x.reshape(b * self.groups, c // self.groups, h, w) * gate).reshape(b, c, h, w)

"""GC: the global context block of GCNet.

Cao, Xu, Lin, Wei, Hu, "GCNet: Non-local Networks Meet Squeeze-Excitation Networks and Beyond", ICCVW 2019,
https://arxiv.org/abs/1904.11492. Reference code: the authors' ``ContextBlock`` (xvjiarui/GCNet, maintained in
open-mmlab/mmcv ``mmcv/cnn/bricks/context_block.py``): attention pooling (a 1x1 conv and a softmax over all pixels give
one global context vector), a bottleneck transform (1x1 conv, LayerNorm, ReLU, 1x1 conv) and fusion by broadcast
addition (``channel_add``) and/or sigmoid multiplication (``channel_mul``). The last conv of each transform starts at
zero, so the block starts as the identity.
"""

import torch
import torch.nn as nn

from yolo_attn.registry import register_attention, check_reduction

__all__ = ("GC",)

_FUSIONS = ("channel_add", "channel_mul")


def _transform(c1: int, planes: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(c1, planes, kernel_size=1),
        nn.LayerNorm([planes, 1, 1]),
        nn.ReLU(inplace=True),
        nn.Conv2d(planes, c1, kernel_size=1),
    )


@register_attention
class GC(nn.Module):
    """Global context block: one attention-pooled context vector, transformed and fused into every pixel.

    Args:
        c1 (int): input channels C (filled in from the yaml ``from`` layer).
        reduction (int): bottleneck ratio; the transform has ``C // reduction`` hidden channels (the official
            ``ratio`` is its inverse: ``ratio=1/16`` is ``reduction=16``).
        pooling_type (str): ``"att"`` (softmax attention pooling, the paper's) or ``"avg"`` (global average).
        fusion_types (list[str]): any of ``"channel_add"`` (default, the paper's best) and ``"channel_mul"``.

    Shapes:
        x: (B, C, H, W) -> (B, C, H, W)

    Parameter names and initialisation equal the official ``ContextBlock`` (``conv_mask``, ``channel_add_conv``,
    ``channel_mul_conv``).
    """

    def __init__(self, c1: int, reduction: int = 16, pooling_type: str = "att", fusion_types=("channel_add",)):
        super().__init__()
        planes = check_reduction(c1, reduction)
        if pooling_type not in ("att", "avg"):
            raise ValueError(f"GC pooling_type must be 'att' or 'avg', got {pooling_type!r}")
        if isinstance(fusion_types, str):
            fusion_types = (fusion_types,)
        if not fusion_types or any(f not in _FUSIONS for f in fusion_types):
            raise ValueError(f"GC fusion_types must be a non-empty list of {_FUSIONS}, got {fusion_types!r}; "
                             "write e.g. [channel_add]")
        self.pooling_type = pooling_type
        self.fusion_types = tuple(fusion_types)
        if pooling_type == "att":
            self.conv_mask = nn.Conv2d(c1, 1, kernel_size=1)
        self.channel_add_conv = _transform(c1, planes) if "channel_add" in fusion_types else None
        self.channel_mul_conv = _transform(c1, planes) if "channel_mul" in fusion_types else None
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """The official init: Kaiming-normal (fan_in) context mask, zero last conv of each transform."""
        if self.pooling_type == "att":
            nn.init.kaiming_normal_(self.conv_mask.weight, mode="fan_in", nonlinearity="relu")
            nn.init.zeros_(self.conv_mask.bias)
        for t in (self.channel_add_conv, self.channel_mul_conv):
            if t is not None:
                nn.init.zeros_(t[-1].weight)
                nn.init.zeros_(t[-1].bias)

    def spatial_weights(self, x: torch.Tensor) -> torch.Tensor:
        """The context-pooling weights (softmax over all pixels, summing to 1), shape (B, 1, H, W)."""
        b, _, h, w = x.shape
        if self.pooling_type == "avg":
            return x.new_full((b, 1, h, w), 1.0 / (h * w))
        return self.conv_mask(x).reshape(b, 1, h * w).softmax(-1).reshape(b, 1, h, w)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c, h, w = x.shape
        if self.pooling_type == "att":
            mask = self.spatial_weights(x).reshape(b, 1, h * w, 1)
            context = torch.matmul(x.reshape(b, 1, c, h * w), mask).reshape(b, c, 1, 1)  # (B, C, 1, 1)
        else:
            context = x.mean((2, 3), keepdim=True)
        out = x
        if self.channel_mul_conv is not None:
            out = out * torch.sigmoid(self.channel_mul_conv(context))
        if self.channel_add_conv is not None:
            out = out + self.channel_add_conv(context)
        return out

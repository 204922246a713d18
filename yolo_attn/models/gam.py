"""GAM: global attention mechanism.

Liu, Shao, Hoffmann, "Global Attention Mechanism: Retain Information to Enhance Channel-Spatial Interactions",
arXiv 2021, https://arxiv.org/abs/2112.05561. The authors published no code. Reference code: the widely used
``GAM_Attention`` (z1069614715/objectdetection_script ``cv-attention/GAM.py``, the version in YOLO attention
collections): a per-pixel channel MLP (Linear C -> C/r -> C with bias, over the permuted B x HW x C tensor), then two
7x7 convs with BatchNorm as spatial attention; no pooling anywhere.
"""

import torch
import torch.nn as nn

from yolo_attn.registry import register_attention, check_reduction

__all__ = ("GAM",)


@register_attention
class GAM(nn.Module):
    """Channel attention (an MLP at every pixel) followed by 7x7-conv spatial attention.

    Args:
        c1 (int): input channels C (filled in from the yaml ``from`` layer).
        rate (int): reduction ratio r of both the MLP and the spatial convs (hidden width ``C // r``).

    Shapes:
        x: (B, C, H, W) -> (B, C, H, W)

    Parameter names equal the reference ``GAM_Attention`` (``channel_attention.*``, ``spatial_attention.*``). Costly:
    two full 7x7 convs, about ``2 * 49 * C^2 / r`` parameters (a 1.6 M-parameter block at C = 512, r = 4).
    """

    def __init__(self, c1: int, rate: int = 4):
        super().__init__()
        hidden = check_reduction(c1, rate)
        self.channel_attention = nn.Sequential(
            nn.Linear(c1, hidden),
            nn.ReLU(inplace=True),
            nn.Linear(hidden, c1),
        )
        self.spatial_attention = nn.Sequential(
            nn.Conv2d(c1, hidden, kernel_size=7, padding=3),
            nn.BatchNorm2d(hidden),
            nn.ReLU(inplace=True),
            nn.Conv2d(hidden, c1, kernel_size=7, padding=3),
            nn.BatchNorm2d(c1),
        )

    def channel_weights(self, x: torch.Tensor) -> torch.Tensor:
        """Channel weights in (0, 1) at every pixel, shape (B, C, H, W)."""
        return self.channel_attention(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2).sigmoid()

    def spatial_weights(self, x: torch.Tensor) -> torch.Tensor:
        """Weights in (0, 1) of the spatial step, applied to the channel-attended input; shape (B, C, H, W)."""
        return self._spatial_logits(x * self.channel_weights(x)).sigmoid()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x * self.channel_weights(x)
        return x * self._spatial_logits(x).sigmoid()

    def _spatial_logits(self, x: torch.Tensor) -> torch.Tensor:
        """``spatial_attention(x)``, (B, C, H, W), kept free of NaN in fp16."""
        sa = self.spatial_attention
        h = sa[2](sa[1](sa[0](x)))
        if h.dtype == torch.float16:  # the 7x7 conv overflows fp16 to inf at |x| ~ 1e3; inf - inf in the next is NaN
            h = h.clamp(max=torch.finfo(h.dtype).max)
        return sa[4](sa[3](h))

"""Shuffle attention.

Zhang, Yang, "SA-Net: Shuffle Attention for Deep Convolutional Neural Networks", ICASSP 2021,
https://arxiv.org/abs/2102.00240. Reference code: wofmanaf/SA-Net ``models/sa_resnet.py`` (``sa_layer``): the channels
are cut into G groups, each group into two halves; one half gets channel attention (its average, scaled and shifted
by learnt per-channel ``cweight``/``cbias``), the other spatial attention (GroupNorm, scaled and shifted by
``sweight``/``sbias``); the halves are concatenated and the channels shuffled with 2 groups.
"""

import torch
import torch.nn as nn

from yolo_attn.registry import register_attention, check_channels

__all__ = ("SA",)


@register_attention
class SA(nn.Module):
    """Shuffle attention: channel attention on half of each group, spatial attention on the other half.

    Args:
        c1 (int): input channels C (filled in from the yaml ``from`` layer); must be divisible by ``2 * groups``.
        groups (int): number of groups G (official default 64).

    Shapes:
        x: (B, C, H, W) -> (B, C, H, W)

    Parameter names and initial values equal the official ``sa_layer`` (``cweight`` = 0, ``cbias`` = 1,
    ``sweight`` = 0, ``sbias`` = 1, ``gn``).
    """

    def __init__(self, c1: int, groups: int = 64):
        super().__init__()
        check_channels("SA", c1)
        if not isinstance(groups, int) or isinstance(groups, bool) or groups < 1:
            raise ValueError(f"SA groups must be a positive integer, got {groups!r}; write e.g. 8 or 64")
        if c1 % (2 * groups):
            fits = [g for g in (64, 32, 16, 8, 4, 2, 1) if c1 % (2 * g) == 0]
            hint = f"write groups {fits[0]}" if fits else "SA needs an even channel count"
            raise ValueError(
                f"SA needs channels divisible by 2 * groups: {c1} channels, groups {groups} "
                f"({c1} % {2 * groups} = {c1 % (2 * groups)}); {hint}"
            )
        self.groups = groups
        c = c1 // (2 * groups)  # channels per half-group
        self.cweight = nn.Parameter(torch.zeros(1, c, 1, 1))
        self.cbias = nn.Parameter(torch.ones(1, c, 1, 1))
        self.sweight = nn.Parameter(torch.zeros(1, c, 1, 1))
        self.sbias = nn.Parameter(torch.ones(1, c, 1, 1))
        self.gn = nn.GroupNorm(c, c)

    def _halves(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        b, c, h, w = x.shape
        return x.reshape(b * self.groups, c // self.groups, h, w).chunk(2, dim=1)  # each (B*G, C/2G, H, W)

    def channel_weights(self, x: torch.Tensor) -> torch.Tensor:
        """Weights in (0, 1) of the channel-attention halves, shape (B, C/2, 1, 1) in group order: entry ``j`` weighs
        input channel ``(j // k) * 2k + j % k`` with ``k = C / (2 * groups)``."""
        x_0, _ = self._halves(x)
        return torch.sigmoid(self.cweight * x_0.mean((2, 3), keepdim=True) + self.cbias).reshape(x.shape[0], -1, 1, 1)

    def spatial_weights(self, x: torch.Tensor) -> torch.Tensor:
        """Per-pixel weights in (0, 1) of the spatial-attention halves, shape (B, C/2, H, W) in group order."""
        _, x_1 = self._halves(x)
        return torch.sigmoid(self.sweight * self.gn(x_1) + self.sbias).reshape(x.shape[0], -1, *x.shape[2:])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c, h, w = x.shape
        x_0, x_1 = self._halves(x)
        xn = x_0 * torch.sigmoid(self.cweight * x_0.mean((2, 3), keepdim=True) + self.cbias)
        xs = x_1 * torch.sigmoid(self.sweight * self.gn(x_1) + self.sbias)
        out = torch.cat((xn, xs), 1).reshape(b, 2, c // 2, h, w)
        return out.transpose(1, 2).reshape(b, c, h, w)  # channel shuffle with 2 groups

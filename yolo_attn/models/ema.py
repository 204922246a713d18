"""EMA: efficient multi-scale attention with cross-spatial learning.

Ouyang et al., "Efficient Multi-Scale Attention Module with Cross-Spatial Learning", ICASSP 2023,
https://arxiv.org/abs/2305.13563. Reference code: seed 004 (``EMA``), the same as YOLOonMe/EMA-attention-module.
"""

import torch
import torch.nn as nn

from yolo_attn.registry import register_attention, check_channels, check_groups

__all__ = ("EMA",)


@register_attention
class EMA(nn.Module):
    """Grouped 1x1 (coordinate) and 3x3 branches whose pooled descriptors cross-weight each other.

    Args:
        c1 (int): input channels C (filled in from the yaml ``from`` layer); must be divisible by ``factor``.
        factor (int): number of channel groups G; each group has ``C // G`` channels.

    Shapes:
        x: (B, C, H, W) -> (B, C, H, W)

    Parameter names equal the seed's (``gn``, ``conv1x1``, ``conv3x3``). The seed's unused ``c2`` argument is dropped:
    in a yaml the arguments after the channels are just ``[factor]``.
    """

    def __init__(self, c1: int, factor: int = 32):
        super().__init__()
        check_channels("EMA", c1)
        check_groups("EMA", c1, factor, "factor")
        self.groups = factor
        cg = c1 // factor
        self.softmax = nn.Softmax(-1)
        self.agp = nn.AdaptiveAvgPool2d((1, 1))
        self.gn = nn.GroupNorm(cg, cg)
        self.conv1x1 = nn.Conv2d(cg, cg, kernel_size=1, stride=1, padding=0)
        self.conv3x3 = nn.Conv2d(cg, cg, kernel_size=3, stride=1, padding=1)

    def spatial_weights(self, x: torch.Tensor) -> torch.Tensor:
        """Per-pixel weights in (0, 1) for each group, shape (B*G, 1, H, W).

        The closed form is a CPU inference path: on CUDA its ~40 small kernels cost more in launches than the seed's
        two full-size maps cost in memory traffic (H100: 1.3x the seed's time at 8x256x80x80), so CUDA runs the seed's
        computation unless compiled.
        """
        if (torch.is_grad_enabled() or x.is_cuda) and not torch.compiler.is_compiling():
            return self._logits_autograd(x).sigmoid()
        return self._logits(x).sigmoid()

    def _logits_autograd(self, x: torch.Tensor) -> torch.Tensor:
        """The seed's computation, for eager training: its backward beats the closed form's (whose inputs are read
        by more ops, each adding a full-size gradient map)."""
        b, c, h, w = x.shape
        bg, cg = b * self.groups, c // self.groups
        group_x = x.reshape(bg, cg, h, w)
        x_h = group_x.mean(3, keepdim=True)
        x_w = group_x.mean(2, keepdim=True).transpose(2, 3)
        x_h, x_w = torch.split(self.conv1x1(torch.cat([x_h, x_w], dim=2)), [h, w], dim=2)
        x1 = self.gn(group_x * x_h.sigmoid() * x_w.transpose(2, 3).sigmoid())
        x2 = self.conv3x3(group_x)
        x11 = self.softmax(x1.mean((2, 3)).unsqueeze(1))  # (BG, 1, C/G)
        x21 = self.softmax(x2.mean((2, 3)).unsqueeze(1))
        return (torch.matmul(x11, x2.reshape(bg, cg, -1)) + torch.matmul(x21, x1.reshape(bg, cg, -1))).view(bg, 1, h, w)

    def _logits(self, x: torch.Tensor) -> torch.Tensor:
        """The seed's ``matmul(x11, x12) + matmul(x21, x22)``, (B*G, 1, H, W), without forming ``x1`` or ``x2``
        (inference and torch.compile).

        The seed builds two (B*G, C/G, H, W) maps, ``x1 = gn(group_x * sig(h) * sig(w))`` and
        ``x2 = conv3x3(group_x)``, and uses each only through its spatial mean and a channel-weighted sum. Both have
        closed forms (same function, fp32 rounding only):

        * ``mean_hw(x1) = gn.bias`` (GroupNorm has one channel per group: each map is normalised to mean 0), so
          ``x11 = softmax(gn.bias)`` for every sample, and ``sum_c x11_c x2_c`` is one 3x3 conv with a single output
          channel whose kernel is ``sum_c x11_c conv3x3.weight[c]``;
        * ``mean_hw(x2)`` is ``conv3x3.weight`` applied to the sums of ``group_x`` over each tap's window: the total
          minus the one border row / column the zero padding drops, plus the doubly dropped corner;
        * ``sum_c x21_c x1_c = sum_c (x21_c gamma_c / sigma_c) t_c + const`` is one (1, C/G) @ (C/G, H*W) product
          on the centred ``t = group_x * sig(h) * sig(w)``.

        Full-size buffers at inference: ``t`` and the nine channel mixes of the 1-output conv (the seed: six, and a
        3x3 conv with C/G outputs).
        """
        b, c, h, w = x.shape
        bg, cg = b * self.groups, c // self.groups
        group_x = x.reshape(bg, cg, h, w)
        x_h = group_x.mean(3, keepdim=True)  # (BG, C/G, H, 1)
        if torch.is_grad_enabled():  # mean's backward is a broadcast; the product's is a full-size outer product
            x_w = group_x.mean(2, keepdim=True).transpose(2, 3)  # (BG, C/G, W, 1)
        else:  # inference: as a (1, H) @ (H, W) product, 2x faster than mean(2) on CPU
            x_w = torch.matmul(group_x.new_full((1, h), 1.0 / h), group_x).transpose(2, 3)
        a_h, a_w = torch.split(self.conv1x1(torch.cat([x_h, x_w], dim=2)), [h, w], dim=2)
        t = group_x * a_h.sigmoid()
        t = t * a_w.transpose(2, 3).sigmoid() if torch.is_grad_enabled() else t.mul_(a_w.transpose(2, 3).sigmoid())
        t = t.reshape(bg, cg, h * w).float()  # GroupNorm runs in fp32 under autocast too

        # GroupNorm(C/G, C/G) statistics of t: per (sample, channel) over H*W, biased variance, two-pass like GN's
        # own kernel (centring first keeps small variances exact: a 1x1 map gives t - mu = 0, as in the seed)
        mu = t.mean(-1, keepdim=True)  # (BG, C/G, 1)
        t = t - mu if torch.is_grad_enabled() else t.sub_(mu)
        inv_sigma = torch.rsqrt(torch.linalg.vector_norm(t, dim=-1).square() / (h * w) + self.gn.eps)  # (BG, C/G)
        gamma, beta = self.gn.weight, self.gn.bias

        # x11 @ x12: softmax(mean x1) = softmax(beta), the same for every sample -> one 1-output 3x3 conv
        x11 = torch.softmax(beta, -1)  # (C/G,)
        k3, b3 = self.conv3x3.weight, self.conv3x3.bias
        k1 = torch.einsum("c,cdij->dij", x11, k3)
        if torch.is_grad_enabled() or torch.compiler.is_compiling():
            # autograd (each sliced tap's backward is a zero-filled copy of all nine planes) and inductor (a plane
            # copy per in-place tap add) are both faster with the plain conv
            term1 = torch.nn.functional.conv2d(group_x, k1.unsqueeze(0), padding=1) + (x11 * b3).sum()
        else:
            term1 = _conv3x3_single_output(group_x, k1) + (x11 * b3).sum()

        # x21 @ x22: softmax(mean x2) weights the normalised t
        x21 = torch.softmax(self._conv3x3_mean(group_x, x_h, x_w), -1)  # (BG, C/G)
        scale = x21 * gamma * inv_sigma  # (BG, C/G)
        shift = (x21 * beta).sum(-1)  # (BG,)
        term2 = torch.matmul(scale.unsqueeze(1), t).view(bg, 1, h, w) + shift.view(bg, 1, 1, 1)
        return term1 + term2.to(term1.dtype)

    def _conv3x3_mean(self, group_x: torch.Tensor, x_h: torch.Tensor, x_w: torch.Tensor) -> torch.Tensor:
        """``conv3x3(group_x).mean((2, 3))`` from border sums, (BG, C/G). x_h: (BG, C/G, H, 1), x_w: (BG, C/G, W, 1)."""
        h, w = group_x.shape[2:]
        # fp32: sums of a whole map overflow fp16 where the seed's means do not
        rows = x_h.squeeze(-1).float() * w  # row sums (BG, C/G, H)
        cols = x_w.squeeze(-1).float() * h  # column sums (BG, C/G, W)
        total = rows.sum(-1)
        zero = torch.zeros_like(total)
        # tap i (j) reads input row (column) y + i - 1: tap 0 never sees the last row, tap 2 never the first
        row_out = torch.stack((rows[..., h - 1], zero, rows[..., 0]), -1)  # (BG, C/G, 3)
        col_out = torch.stack((cols[..., w - 1], zero, cols[..., 0]), -1)
        # the four corner pixels in one strided slice (under autograd each separate pick costs a full-size zero map)
        cs = group_x[:, :, ::max(h - 1, 1), ::max(w - 1, 1)].float()  # (BG, C/G, 1 or 2, 1 or 2)
        corner = torch.stack((
            torch.stack((cs[..., -1, -1], zero, cs[..., -1, 0]), -1),
            torch.zeros_like(row_out),
            torch.stack((cs[..., 0, -1], zero, cs[..., 0, 0]), -1),
        ), -2)  # (BG, C/G, 3, 3): input pixels dropped by both the row and the column of a tap
        window_sums = total[..., None, None] - row_out[..., :, None] - col_out[..., None, :] + corner
        k3, b3 = self.conv3x3.weight.float(), self.conv3x3.bias.float()
        # divide first: under fp16 autocast the matmul runs in fp16, and map sums of |x| ~ 1e3 overflow it (NaN softmax)
        return ((window_sums / (h * w)).flatten(1) @ k3.flatten(1).T).view_as(total) + b3

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c, h, w = x.shape
        group_x = x.reshape(b * self.groups, c // self.groups, h, w)
        return (group_x * self.spatial_weights(x)).reshape(b, c, h, w)


def _conv3x3_single_output(x: torch.Tensor, k: torch.Tensor) -> torch.Tensor:
    """``F.conv2d(x, k[None], padding=1)`` for one output channel, (N, C, H, W), (C, 3, 3) -> (N, 1, H, W).

    oneDNN runs a 1-output conv at a fraction of its throughput (3x the time of ``x * 1.0`` here); mixing the
    channels per tap in one (9, C) @ (C, H*W) product and adding the nine shifted planes costs about one pass.
    """
    n, c, h, w = x.shape
    planes = torch.matmul(k.permute(1, 2, 0).reshape(9, c), x.reshape(n, c, h * w)).view(n, 3, 3, h, w)
    out = planes[:, 1, 1].clone()
    for i in range(3):  # the 8 off-centre taps: tap (i, j) reads input pixel (y + i - 1, x + j - 1)
        for j in range(3):
            dy, dx = i - 1, j - 1
            if (dy or dx) and h > abs(dy) and w > abs(dx):
                out[:, max(0, -dy):h - max(0, dy), max(0, -dx):w - max(0, dx)] += \
                    planes[:, i, j, max(0, dy):h - max(0, -dy), max(0, dx):w - max(0, -dx)]
    return out.unsqueeze(1)

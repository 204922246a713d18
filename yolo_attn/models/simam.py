"""SimAM: a simple, parameter-free attention module.

Yang, Zhang, Li, Xie, "SimAM: A Simple, Parameter-Free Attention Module for Convolutional Neural Networks",
ICML 2021, http://proceedings.mlr.press/v139/yang21o.html. Reference code: seed 003 (``Simam_module``), identical to
the authors' ``simam_module`` (ZjjConan/SimAM).
"""

from __future__ import annotations

import torch
import torch.nn as nn
from torch.autograd.function import once_differentiable

from yolo_attn.registry import register_attention

__all__ = ("SimAM",)


class _SimAMFunction(torch.autograd.Function):
    """``x * sigmoid(d^2 / s + 0.5)`` with ``d = x - mean(x)``, ``s = 4 (sum(d^2) / n + lambda)`` per (sample, channel)
    plane, and a hand-derived backward that recomputes from ``x`` alone.

    Autograd on the formula stores four full-size intermediates and runs a pass per op both ways; here the forward
    is the in-place inference tail and only ``x`` is kept. Backward, with ``a`` the weights, ``t = d^2 / s`` and
    ``q = g x a (1 - a)`` (the gradient reaching the sigmoid's input):
    ``dL/dd = 2 d (q / s + k)`` with ``k = -4 sum(q t) / (n s)`` (through ``s``), and since ``d = x - mean(x)``,
    ``dL/dx = g a + dL/dd - mean(dL/dd)``. Checked against autograd on the seed's code (tests/models/test_fast_paths.py).
    """

    @staticmethod
    def forward(ctx, x: torch.Tensor, e_lambda: float) -> torch.Tensor:
        ctx.save_for_backward(x)
        ctx.e_lambda = e_lambda
        return _scaled_inplace(x, e_lambda)

    @staticmethod
    @once_differentiable
    def backward(ctx, g: torch.Tensor):
        (x,) = ctx.saved_tensors
        ft = _stats_dtype(x)
        xf, gf = x.to(ft), g.to(ft)
        n = max(x.shape[2] * x.shape[3] - 1, 1)
        d = xf - xf.mean((2, 3), keepdim=True)
        t = d.square()
        s = 4 * (t.sum((2, 3), keepdim=True) / n + ctx.e_lambda)  # (B, C, 1, 1)
        t.div_(s)
        a = (t + 0.5).sigmoid_()
        grad = gf * a  # the direct term, g * a
        q = grad * xf
        q.mul_(a.neg_().add_(1))  # g x a (1 - a)
        k = (q * t).sum((2, 3), keepdim=True).mul_(-4 / n).div_(s)
        q.div_(s).add_(k).mul_(d).mul_(2)  # dL/dd
        q.sub_(q.mean((2, 3), keepdim=True))
        return grad.add_(q).to(x.dtype), None


def _stats_dtype(x: torch.Tensor) -> torch.dtype:
    """At least fp32: fp16's max is 65504, so (x - mu)^2 overflows to inf (then inf/inf = NaN) once |x - mu| > 256."""
    return torch.promote_types(x.dtype, torch.float32)


def _weights(x: torch.Tensor, e_lambda: float, inplace: bool) -> torch.Tensor:
    """Weights in at least fp32; ``inplace`` runs the elementwise tail in the one new (B, C, H, W) buffer (no autograd)."""
    n = max(x.shape[2] * x.shape[3] - 1, 1)
    xf = x.to(_stats_dtype(x))
    d = (xf - xf.mean((2, 3), keepdim=True)).pow_(2)
    denom = 4 * (d.sum((2, 3), keepdim=True) / n + e_lambda)  # (B, C, 1, 1)
    if inplace:
        return d.div_(denom).add_(0.5).sigmoid_()
    return torch.sigmoid(d / denom + 0.5)


def _scaled_inplace(x: torch.Tensor, e_lambda: float) -> torch.Tensor:
    """``x * weights`` written into the weights' buffer: one (B, C, H, W) allocation instead of five (no autograd)."""
    w = _weights(x, e_lambda, inplace=True)
    return w.mul_(x) if x.dtype == w.dtype else x * w.to(x.dtype)


@register_attention
class SimAM(nn.Module):
    """Energy-based per-neuron weights: ``x * sigmoid((x - mu)^2 / (4 (var + lambda)) + 0.5)``.

    Args:
        c1 (int | None): input channels; unused (SimAM has no parameters), accepted so the yaml API is uniform.
        e_lambda (float): regulariser lambda of the energy function, 0 < lambda < 1 (paper: 1e-4; the authors' ImageNet
            runs use 0.1).

    Shapes:
        x: (B, C, H, W) -> (B, C, H, W)

    ``var`` is the seed's ``sum((x - mu)^2) / (H*W - 1)``. On a 1x1 map the seed divides 0 by 0 (NaN); here the
    divisor is clamped to 1, which gives the value the formula tends to (weight ``sigmoid(0.5)``).
    """

    def __init__(self, c1: int | None = None, e_lambda: float = 1e-4):
        super().__init__()
        # lambda regularises a per-plane variance; >= 1 would swamp it (and [1024] is a channel count copied from
        # a YOLOAir-style yaml, not a lambda)
        if not isinstance(e_lambda, (int, float)) or isinstance(e_lambda, bool) or not 0 < e_lambda < 1:
            raise ValueError(f"SimAM e_lambda must be a number with 0 < e_lambda < 1, got {e_lambda!r}; write e.g. "
                             f"1e-4 (paper) or 0.1, or [] for the default")
        self.e_lambda = float(e_lambda)

    def extra_repr(self) -> str:
        return f"e_lambda={self.e_lambda}"

    def spatial_weights(self, x: torch.Tensor) -> torch.Tensor:
        """Per-neuron weights in (0, 1), shape (B, C, H, W)."""
        return _weights(x, self.e_lambda, inplace=False).to(x.dtype)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if torch.is_grad_enabled() and x.requires_grad:
            if torch.compiler.is_compiling():  # inductor fuses the plain formula's backward itself
                return x * self.spatial_weights(x)
            return _SimAMFunction.apply(x, self.e_lambda)  # eager training: half the seed's time, x the only saved map
        return _scaled_inplace(x, self.e_lambda)  # inference

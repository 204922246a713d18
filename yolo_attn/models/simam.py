"""SimAM: a simple, parameter-free attention module.

Yang, Zhang, Li, Xie, "SimAM: A Simple, Parameter-Free Attention Module for Convolutional Neural Networks",
ICML 2021, http://proceedings.mlr.press/v139/yang21o.html. Reference code: seed 003 (``Simam_module``), identical to
the authors' ``simam_module`` (ZjjConan/SimAM).
"""

import torch
import torch.nn as nn

from yolo_attn.registry import register_attention

__all__ = ("SimAM",)


@register_attention
class SimAM(nn.Module):
    """Energy-based per-neuron weights: ``x * sigmoid((x - mu)^2 / (4 (var + lambda)) + 0.5)``.

    Args:
        c1 (int | None): input channels; unused (SimAM has no parameters), accepted so the yaml API is uniform.
        e_lambda (float): regulariser lambda of the energy function (paper: 1e-4; the authors' ImageNet runs use 0.1).

    Shapes:
        x: (B, C, H, W) -> (B, C, H, W)

    ``var`` is the seed's ``sum((x - mu)^2) / (H*W - 1)``. On a 1x1 map the seed divides 0 by 0 (NaN); here the
    divisor is clamped to 1, which gives the value the formula tends to (weight ``sigmoid(0.5)``).
    """

    def __init__(self, c1: int | None = None, e_lambda: float = 1e-4):
        super().__init__()
        if not isinstance(e_lambda, (int, float)) or isinstance(e_lambda, bool) or e_lambda <= 0:
            raise ValueError(f"SimAM e_lambda must be a positive number, got {e_lambda!r}; write e.g. 1e-4 or 0.1")
        self.e_lambda = float(e_lambda)

    def extra_repr(self) -> str:
        return f"e_lambda={self.e_lambda}"

    def spatial_weights(self, x: torch.Tensor) -> torch.Tensor:
        """Per-neuron weights in (0, 1), shape (B, C, H, W)."""
        return self._weights(x, inplace=False).to(x.dtype)

    def _weights(self, x: torch.Tensor, inplace: bool) -> torch.Tensor:
        """fp32 weights; ``inplace`` runs the elementwise tail in the one new (B, C, H, W) buffer (no autograd)."""
        n = max(x.shape[2] * x.shape[3] - 1, 1)
        xf = x.float()  # fp16's max is 65504: (x - mu)^2 overflows to inf (then inf/inf = NaN) once |x - mu| > 256
        d = (xf - xf.mean((2, 3), keepdim=True)).pow_(2)
        denom = 4 * (d.sum((2, 3), keepdim=True) / n + self.e_lambda)  # (B, C, 1, 1)
        if inplace:
            return d.div_(denom).add_(0.5).sigmoid_()
        return torch.sigmoid(d / denom + 0.5)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if torch.is_grad_enabled():
            return x * self.spatial_weights(x)
        w = self._weights(x, inplace=True)  # inference: 1 buffer of x's size instead of 5
        return w.mul_(x) if x.dtype == w.dtype else x * w.to(x.dtype)

"""``x * w`` for per-channel weights ``w`` (B, C, 1, 1), with a cheaper backward than autograd's (eager training)."""

import torch

__all__ = ("scale_channels",)

class _ChannelScale(torch.autograd.Function):
    """Autograd's backward of ``x * w`` writes ``g * x`` in full and then sums it over H, W; here that sum is one
    batched dot product per (sample, channel) plane, reading ``g`` and ``x`` once and writing nothing of their size."""

    @staticmethod
    def forward(ctx, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(x, w)
        return x * w

    @staticmethod
    def backward(ctx, g: torch.Tensor):
        x, w = ctx.saved_tensors
        grad_x = (g * w).to(x.dtype) if ctx.needs_input_grad[0] else None
        grad_w = None
        if ctx.needs_input_grad[1]:
            b, c, h, wd = x.shape
            if g.dtype == x.dtype:
                grad_w = torch.bmm(g.reshape(b * c, 1, h * wd), x.reshape(b * c, h * wd, 1)).view(b, c, 1, 1)
            else:  # mixed precision (autocast): let the product promote
                grad_w = (g * x).sum((2, 3), keepdim=True)
            grad_w = grad_w.to(w.dtype)
        return grad_x, grad_w


def scale_channels(x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    """``x * w`` with ``w`` of shape (B, C, 1, 1). Eager autograd uses the backward above; inference, compiled and
    traced graphs (export) see the plain product."""
    if torch.is_grad_enabled() and not torch.compiler.is_compiling() and not torch.jit.is_tracing() \
            and x.dim() == 4 and w.shape == (*x.shape[:2], 1, 1) and (x.requires_grad or w.requires_grad):
        return _ChannelScale.apply(x, w)
    return x * w

"""BatchNorm that survives a training batch of one (shared by the modules that normalise pooled statistics)."""

import torch
import torch.nn as nn
import torch.nn.functional as F

__all__ = ("batch_norm",)


def batch_norm(bn: nn.modules.batchnorm._BatchNorm, z: torch.Tensor) -> torch.Tensor:
    """``bn(z)``, except that a training step with one value per channel (a batch of one pooled vector, where
    ``bn`` itself raises "Expected more than 1 value per channel") normalises with the running statistics and
    leaves them unchanged."""
    if bn.training and z.numel() // z.shape[1] <= 1:
        return F.batch_norm(z, bn.running_mean, bn.running_var, bn.weight, bn.bias, False, 0.0, bn.eps)
    return bn(z)

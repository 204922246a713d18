"""BatchNorm statistics after an insertion: the layers fed by a new attention layer see other activations.

An attention layer inserted into a trained model rescales its input (SE and SimAM start near ``x * 0.5``, ECA/CBAM
likewise), so every BatchNorm downstream normalises with running statistics of activations it no longer gets. In
training mode BatchNorm uses the batch's own statistics, so the trained weights still work there, but validation (and
the EMA copy that best.pt is) uses the stale running ones until BatchNorm's momentum (0.03) has moved them, which a
short fine-tune never does: one fine-tune epoch with an inserted SE lost 0.07 mAP50-95 (docs/YOLOV5.md).

``recalibrate_bn`` re-estimates the running statistics of exactly those BatchNorm layers (the new layers' own and every
layer fed by them through ``from``) on training images, with torch's own ``torch.optim.swa_utils.update_bn`` (a
cumulative average over the batches, in training mode, without gradients). No weight changes; every other layer's
statistics are kept as loaded. This is "precise BN" (Wu & Johnson, "Rethinking 'Batch' in BatchNorm", 2021), applied
only where an insertion made the loaded statistics wrong.
"""

from __future__ import annotations

import itertools

import torch
import torch.nn as nn

__all__ = ("affected_layers", "recalibrate_bn", "RECALIBRATION_BATCHES")

RECALIBRATION_BATCHES = 200  # fvcore's precise-BN default; fewer when the training set has fewer batches


def affected_layers(layers: nn.Sequential, new: list[int]) -> list[int]:
    """Indices of the layers whose input changes when layers ``new`` are inserted: ``new`` and every layer that
    reads one of them, directly or through another affected layer (ultralytics' ``m.f``: -1 is the previous layer)."""
    affected = set(new)
    for m in layers:
        i, sources = m.i, m.f if isinstance(m.f, (list, tuple)) else [m.f]
        if any((i + f if f < 0 else f) in affected for f in sources):
            affected.add(i)
    return sorted(affected)


def recalibrate_bn(model: nn.Module, new: list[int], images, batches: int = RECALIBRATION_BATCHES) -> dict:
    """Re-estimate the BatchNorm running statistics of the layers affected by the new layers ``new`` of ``model``
    (a built ultralytics model) from ``images`` (an iterable of input tensors on the model's device), at most
    ``batches`` of them. Returns ``{"layers": [...], "bn": count, "batches": used}``; nothing is changed when no
    affected layer has a BatchNorm."""
    layers = model.model
    affected = affected_layers(layers, new)
    targets = {id(bn) for i in affected for bn in layers[i].modules() if isinstance(bn, nn.modules.batchnorm._BatchNorm)}
    if not targets:
        return {"layers": affected, "bn": 0, "batches": 0}
    others = [bn for bn in model.modules() if isinstance(bn, nn.modules.batchnorm._BatchNorm) and id(bn) not in targets]
    kept = [{k: v.clone() for k, v in bn.state_dict().items()} for bn in others]
    was_training, used = model.training, []

    def counted():
        for x in itertools.islice(images, batches):
            used.append(1)
            yield x

    with torch.no_grad():  # update_bn itself keeps the autograd graph of every forward
        torch.optim.swa_utils.update_bn(counted(), model)  # resets every BatchNorm; the others are restored below
    for bn, state in zip(others, kept):
        bn.load_state_dict(state)
    model.train(was_training)
    return {"layers": affected, "bn": len(targets), "batches": len(used)}

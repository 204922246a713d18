"""Pretrained weights across attention insertions: map each *base* layer of a checkpoint onto its new index.

ultralytics' ``BaseModel.load`` (and the trainer's ``pretrained=``) copies tensors whose state-dict key
``model.<index>.<name>`` and shape match. An inserted attention row shifts every later index, so SPPF, the neck and
Detect silently start from random values ("Transferred 186/429 items" for yolov5n -> yolov5n-se).

Here the *base* of a model yaml is that yaml with its registered-attention rows removed and the indices closed up.
``load_weights(model, ckpt)`` re-indexes the checkpoint's layers onto the model's layout through their base indices
(attention layers carry over where the same module sits at the same base position), checks that both share one base
(same layers, same tensor shapes: same base and scale), then lets ultralytics' own ``BaseModel.load`` copy the
tensors (so its class-name remapping and Detect rebuild for another class count still apply). It logs::

    transferred 100% of the base (N/N tensors); new: K tensors in 3 attention layers

Tensors are state-dict entries, parameters *and* buffers (BatchNorm running mean/var and ``num_batches_tracked``),
the same entries that ultralytics counts as "items".
"""

from __future__ import annotations

import copy
from pathlib import Path

import torch
import torch.nn as nn
from ultralytics.nn.modules import Detect
from ultralytics.utils import LOGGER

from yolo_attn.errors import UsageError
from yolo_attn.graph.rows import base_layout, new_attention_layers

__all__ = ("tensor_signature", "is_yolov5_weights", "check_transfer", "load_weights")


def _layers(model) -> nn.Sequential:
    return model.model


def tensor_signature(model) -> list[tuple]:
    """Per base layer: ``(class name, ((tensor name, shape), ...))`` of a built model (yaml layout from ``model.yaml``).

    Two models share a base (same base yaml and scale) exactly when their signatures are equal. A Detect head
    contributes only its box branch (``cv2``), whose shapes do not depend on the class count, so fine-tuning to
    another number of classes keeps the signature.
    """
    sig = []
    for i, pos in enumerate(base_layout(model.yaml)):
        if not isinstance(pos, int):
            continue
        m = _layers(model)[i]
        items = m.state_dict().items()
        if isinstance(m, Detect):
            items = [(k, v) for k, v in items if k.startswith("cv2.")]
        sig.append((type(m).__name__, tuple((k, tuple(v.shape)) for k, v in items)))
    return sig


def _describe(model) -> str:
    d = model.yaml
    name = Path(str(d.get("yaml_file", "?"))).name
    scale = d.get("scale") or "?"
    base = [i for i, p in enumerate(base_layout(d)) if isinstance(p, int)]
    params = sum(p.numel() for i in base for p in _layers(model)[i].parameters())
    return f"{name} (scale {scale}; base: {len(base)} layers, {params:,} base parameters)"


def is_yolov5_weights(ckpt) -> bool:
    """A checkpoint saved by the YOLOv5 repository (path or one already read by ``yolo_attn.checkpoint.yolov5``)."""
    from yolo_attn.checkpoint.yolov5 import YOLOv5Checkpoint, is_yolov5_checkpoint

    return isinstance(ckpt, YOLOv5Checkpoint) or is_yolov5_checkpoint(ckpt)


def _source_model(ckpt):
    """(model, label) from a path, a loaded checkpoint dict, a ``YOLO`` object or a model."""
    from ultralytics.nn.tasks import load_checkpoint

    label = "the checkpoint"
    if isinstance(ckpt, (str, Path)):
        label = f"checkpoint {ckpt}"
        if not Path(ckpt).is_file():
            raise FileNotFoundError(f"weights {ckpt}: no such file; give the path of a .pt checkpoint such as best.pt")
        ckpt, _ = load_checkpoint(ckpt)
    if isinstance(ckpt, dict):
        ckpt = ckpt.get("ema") or ckpt.get("model")
    if hasattr(ckpt, "model") and not isinstance(getattr(ckpt, "model"), nn.Sequential):  # a YOLO object
        ckpt = ckpt.model
    if not isinstance(ckpt, nn.Module) or not isinstance(getattr(ckpt, "yaml", None), dict):
        raise UsageError(f"{label}: not an ultralytics model checkpoint with a model yaml (ckpt['model'].yaml); "
                         "give a .pt saved by ultralytics training or torch.save({'model': model})")
    return ckpt.float(), label


def _reindexed(src, dst_layout: list, src_layout: list):
    """A shallow copy of ``src`` whose layers sit at the indices of ``dst_layout`` (shared modules, no tensor copy).

    Base layers go to their new index; an attention layer goes where the destination has the same slot, and every
    other destination slot gets an ``nn.Identity`` (no tensors, so nothing is copied there).
    """
    where = {pos: m for pos, m in zip(src_layout, _layers(src))}
    proxy = copy.copy(src)
    proxy._modules = dict(src._modules)
    proxy._modules["model"] = nn.Sequential(*[where.get(pos, nn.Identity()) for pos in dst_layout])
    return proxy


def load_weights(model, ckpt, verbose: bool = True, label: str | None = None) -> dict:
    """Load the base (and matching attention) tensors of ``ckpt`` into ``model`` across attention insertions.

    Args:
        model: ultralytics ``DetectionModel`` (or a ``YOLO`` object: its ``.model`` is used), built from any yaml.
        ckpt: checkpoint path, loaded checkpoint dict (``{"model": m}`` / ``{"ema": m}``), ``YOLO`` object or model;
            its ``model.yaml`` gives its layout.
        verbose: log the summary line with ultralytics' ``LOGGER``.
        label: how messages name the checkpoint (default: its path, or "the checkpoint").

    Returns:
        dict with ``transferred`` / ``base_total`` (base tensors copied / base tensors of ``model``), ``percent``,
        ``attention_carried`` (attention tensors copied from the same module at the same base position),
        ``new_tensors`` / ``new_layers`` (attention tensors / layers left at their initial values) and ``missed``
        (keys of base tensors not copied, e.g. a class-count-dependent Detect output for another ``nc``).

    Raises:
        UsageError (a ``ValueError``): the checkpoint has another base or scale (the message names both).
    """
    if hasattr(model, "model") and not isinstance(model.model, nn.Sequential):  # a YOLO object
        model = model.model
    if is_yolov5_weights(ckpt):  # saved by the YOLOv5 repository: read without its code (graph/transfer/yolov5.py)
        from yolo_attn.graph.transfer.yolov5 import load_yolov5_weights

        return load_yolov5_weights(model, ckpt, verbose=verbose, label=label)
    src, name = _source_model(ckpt)
    label = label or name
    if getattr(src, "is_fused", lambda: False)() and not model.is_fused():
        raise UsageError(f"{label} is fused for inference (Conv and BatchNorm merged), so its tensors do not map onto "
                         "a trainable model; give the unfused checkpoint that training saved (weights/best.pt, last.pt)")
    if tensor_signature(src) != tensor_signature(model):
        raise UsageError(_mismatch(src, model, label))
    dst_layout, src_layout = base_layout(model.yaml), base_layout(src.yaml)
    proxy = _reindexed(src, dst_layout, src_layout)
    model.load(proxy, verbose=False)  # ultralytics' own load: name-based class remap, Detect rebuild for another nc

    src_sd, dst_sd = proxy.state_dict(), model.state_dict()
    copied = {k for k, v in dst_sd.items() if k in src_sd and src_sd[k].shape == v.shape and torch.equal(src_sd[k], v)}
    attn_layers = {str(i) for i, p in enumerate(dst_layout) if not isinstance(p, int)}
    attn_keys = [k for k in dst_sd if k.split(".")[:2][-1] in attn_layers and k.startswith("model.")]
    base_keys = [k for k in dst_sd if k not in set(attn_keys)]
    new_keys = [k for k in attn_keys if k not in copied]
    report = dict(
        transferred=sum(k in copied for k in base_keys),
        base_total=len(base_keys),
        attention_carried=len(attn_keys) - len(new_keys),
        new_tensors=len(new_keys),
        new_layers=len({k.split(".")[1] for k in new_keys}),
        missed=[k for k in base_keys if k not in copied],
        source=label,
        new_layer_indices=new_attention_layers(dst_layout, src_layout),
    )
    report["percent"] = 100.0 * report["transferred"] / max(report["base_total"], 1)
    if verbose:
        LOGGER.info(_summary(report))
    return report


def _summary(r: dict) -> str:
    pct = f"{r['percent']:.0f}" if r["transferred"] in (0, r["base_total"]) else f"{r['percent']:.1f}"
    line = f"transferred {pct}% of the base ({r['transferred']}/{r['base_total']} tensors); "
    line += f"new: {r['new_tensors']} tensors in {r['new_layers']} attention layer{'s' * (r['new_layers'] != 1)}"
    if r["attention_carried"]:
        line += f"; carried over: {r['attention_carried']} attention tensors"
    if r["missed"]:
        line += f"; not transferred: {', '.join(r['missed'][:4])}{' ...' if len(r['missed']) > 4 else ''}"
    return line


def _mismatch(src, model, label: str) -> str:
    if any(hasattr(m, "forward_fuse") and hasattr(m, "conv") and not hasattr(m, "bn") for m in src.modules()):
        return (f"{label} is a fused checkpoint (model.fuse() folded its BatchNorm layers into the convolutions, as "
                "for inference or export), so its tensors cannot start a model that trains; give the unfused .pt "
                "written by training (weights/best.pt or last.pt)")
    a, b = tensor_signature(src), tensor_signature(model)
    detail = f"the checkpoint's base has {len(a)} layers, the model's {len(b)}"
    for i, (x, y) in enumerate(zip(a, b)):
        if x == y:
            continue
        if x[0] != y[0] or len(x[1]) != len(y[1]):
            detail = f"base layer {i} is a {x[0]} in the checkpoint but a {y[0]} in the model"
        else:
            (name, sx), sy = next((tx, ty[1]) for tx, ty in zip(x[1], y[1]) if tx != ty)
            detail = f"base layer {i} ({x[0]}) has {name} {list(sx)} in the checkpoint but {list(sy)} in the model"
        break
    return (f"{label} is a {_describe(src)} but the model is a {_describe(model)}: {detail}. "
            "Give weights of the same base and scale (a yolov5n checkpoint for yolov5n-*.yaml, yolov5s for "
            "yolov5s-*.yaml, ...), or train the model from scratch without --weights")


def check_transfer(cfg, ckpt, label: str | None = None) -> None:
    """Raise ``UsageError`` before training when checkpoint ``ckpt`` (path, dict or model) has another base or scale
    than the model yaml ``cfg``; builds the model on the CPU once (no weights are copied)."""
    from ultralytics.nn.tasks import DetectionModel

    if is_yolov5_weights(ckpt):
        from yolo_attn.graph.transfer.yolov5 import check_yolov5_transfer

        return check_yolov5_transfer(cfg, ckpt, label)
    src, name = _source_model(ckpt)
    model = DetectionModel(cfg, verbose=False)
    if tensor_signature(src) != tensor_signature(model):
        raise UsageError(_mismatch(src, model, label or name))

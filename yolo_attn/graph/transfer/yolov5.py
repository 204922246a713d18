"""Weights from a checkpoint saved by the YOLOv5 repository (``yolo_attn.checkpoint.yolov5``) into our models.

``load_weights`` routes such files here. The checkpoint's tensors are matched layer by layer through the *base*
layout (``graph.rows.base_layout``), so base layers land on their new indices across inserted attention rows and
attention layers carry over at equal slots, exactly as for ultralytics checkpoints.

- Into an anchor-based model (YOLOv5's head, ``AnchorDetect``): every tensor. YOLOv5's head emits, per anchor,
  ``xywh, objectness, classes``; when the class counts differ, the box and objectness rows of each output conv are
  copied and the class rows keep their initial values (YOLOv5's class-bias prior).
- Into a YOLOv5u model (ultralytics' anchor-free ``Detect``): backbone and neck; the head has no counterpart.

It logs, in the style of the ultralytics-checkpoint line::

    transferred 100% of the base (349/349 tensors); new: 6 tensors in 3 attention layers; from a YOLOv5 checkpoint ...
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import torch
from ultralytics.utils import LOGGER

from yolo_attn.checkpoint.yolov5 import YOLOv5Checkpoint, read_yolov5_checkpoint_or_usage_error
from yolo_attn.errors import UsageError
from yolo_attn.graph.rows import AttentionSlot
from yolo_attn.graph.rows import base_layout, new_attention_layers

__all__ = ("load_yolov5_weights", "check_yolov5_transfer", "read_checkpoint_or_usage_error")


def read_checkpoint_or_usage_error(ckpt, label: str | None = None) -> YOLOv5Checkpoint:
    """A ``YOLOv5Checkpoint`` from a path (or one already read); a refused or unreadable file raises ``UsageError``."""
    return read_yolov5_checkpoint_or_usage_error(ckpt, label)


def _by_layer(sd: dict, layout: list) -> dict:
    """{base position (int or AttentionSlot): {tensor name inside the layer: tensor}} of a ``model.<i>.*`` state
    dict."""
    out = defaultdict(dict)
    for k, v in sd.items():
        parts = k.split(".", 2)
        if parts[0] == "model" and len(parts) == 3 and parts[1].isdigit() and int(parts[1]) < len(layout):
            out[layout[int(parts[1])]][parts[2]] = v
    return out


def _is_anchor_head(m) -> bool:
    return getattr(m, "head_kind", None) == "anchor"


def _head_rows(src: torch.Tensor, dst: torch.Tensor, na: int) -> torch.Tensor | None:
    """Detect output conv of another class count: the destination tensor with the checkpoint's box and objectness
    rows (the first 5 of each anchor's ``5 + nc``); None when the shapes differ otherwise."""
    if src.shape[1:] != dst.shape[1:] or src.shape[0] % na or dst.shape[0] % na:
        return None
    out = dst.clone().view(na, dst.shape[0] // na, *dst.shape[1:])
    out[:, :5] = src.view(na, src.shape[0] // na, *src.shape[1:])[:, :5].to(dst)
    return out.view_as(dst)


def _plan(model, ck: YOLOv5Checkpoint, label: str):
    """(new state dict entries, report) for loading ``ck`` into ``model``; ``UsageError`` on another base or scale."""
    dst_layout, src_layout = base_layout(model.yaml), base_layout(ck.yaml)
    src = _by_layer(ck.state_dict, src_layout)
    head_i = len(model.model) - 1
    head = model.model[head_i]
    anchor = _is_anchor_head(head)
    if isinstance(dst_layout[head_i], int) and (dst_layout[head_i] != src_layout[-1]):
        raise UsageError(_mismatch(label, ck, model, f"the checkpoint's base has {src_layout[-1] + 1} layers, "
                                                     f"the model's {dst_layout[head_i] + 1}"))
    updates, r = {}, dict(transferred=0, base_total=0, attention_carried=0, new_tensors=0, new_layers=0, missed=[],
                          head_rows=0, head_new=0)
    new_layers = set()
    for i, pos in enumerate(dst_layout):
        layer = model.model[i].state_dict()
        have = src.get(pos, {})
        for name, t in layer.items():
            key = f"model.{i}.{name}"
            s = have.get(name)
            if isinstance(pos, AttentionSlot):
                if s is not None and s.shape == t.shape and ck.classes.get(str(src_layout.index(pos)), "").endswith(
                        "." + pos.module):
                    updates[key] = s.to(t.dtype)
                    r["attention_carried"] += 1
                else:
                    r["new_tensors"] += 1
                    new_layers.add(i)
                continue
            r["base_total"] += 1
            if i == head_i and not anchor:  # YOLOv5u's anchor-free Detect: nothing in YOLOv5's head maps onto it
                r["head_new"] += 1
                r["missed"].append(key)
                continue
            if s is not None and s.shape == t.shape:
                updates[key] = s.to(t.dtype)
                r["transferred"] += 1
            elif s is not None and i == head_i and (rows := _head_rows(s, t, head.na)) is not None:
                updates[key] = rows
                r["transferred"] += 1
                r["head_rows"] += 1
            else:
                what = "missing" if s is None else f"{list(s.shape)} in the checkpoint but {list(t.shape)}"
                raise UsageError(_mismatch(label, ck, model, f"base layer {pos} ({type(model.model[i]).__name__}) "
                                                             f"has {name} {what} in the model"))
    r["new_layers"] = len(new_layers)
    r["new_layer_indices"] = new_attention_layers(
        dst_layout, src_layout, lambda pos: ck.classes.get(str(src_layout.index(pos)), "").endswith("." + pos.module))
    r.update(percent=100.0 * r["transferred"] / max(r["base_total"], 1), source=label, checkpoint_nc=ck.nc,
             head="anchor" if anchor else "v5u",
             format=f"YOLOv5 checkpoint ({ck.layout} layout: {ck.model_class}, '{ck.entry}', nc {ck.nc})")
    return updates, r


def _mismatch(label: str, ck: YOLOv5Checkpoint, model, detail: str) -> str:
    theirs = f"depth {ck.yaml.get('depth_multiple')}, width {ck.yaml.get('width_multiple')}"
    return (f"{label} is a YOLOv5 checkpoint ({ck.model_class}, {theirs}) whose base does not match the model "
            f"{Path(str(model.yaml.get('yaml_file', '?'))).name} (scale {model.yaml.get('scale') or '?'}): {detail}. "
            "Give weights of the same base and scale (yolov5n.pt for yolov5n-*.yaml, yolov5s.pt for yolov5s-*.yaml, "
            "...)")


def _summary(r: dict, nc: int) -> str:
    pct = f"{r['percent']:.0f}" if r["transferred"] in (0, r["base_total"]) else f"{r['percent']:.1f}"
    scope = "" if r["head"] == "anchor" else ": backbone and neck"
    line = f"transferred {pct}% of the base ({r['transferred']}/{r['base_total']} tensors{scope}); "
    line += f"new: {r['new_tensors']} tensors in {r['new_layers']} attention layer{'s' * (r['new_layers'] != 1)}"
    if r["attention_carried"]:
        line += f"; carried over: {r['attention_carried']} attention tensors"
    if r["head_rows"]:
        line += (f"; Detect: box and objectness rows of {r['head_rows']} output tensors transferred, class rows new "
                 f"(nc {nc}, checkpoint nc {r['checkpoint_nc']})")
    if r["head_new"]:
        line += (f"; Detect new ({r['head_new']} tensors): YOLOv5u's anchor-free head has no counterpart in YOLOv5's "
                 "anchor head (use --anchors for every tensor)")
    return line + f"; from a {r['format']}"


def load_yolov5_weights(model, ckpt, verbose: bool = True, label: str | None = None) -> dict:
    """Load a YOLOv5-repository checkpoint (path or ``YOLOv5Checkpoint``) into ``model`` (see the module docstring);
    return the same report dict as ``load_weights`` plus ``head`` ('anchor'/'v5u'), ``format``, ``head_rows``."""
    if hasattr(model, "model") and not isinstance(model.model, torch.nn.Sequential):  # a YOLO object
        model = model.model
    label = label or (f"checkpoint {ckpt}" if isinstance(ckpt, (str, Path)) else f"checkpoint {ckpt.path}")
    ck = read_checkpoint_or_usage_error(ckpt, label)
    updates, report = _plan(model, ck, label)
    sd = model.state_dict()
    sd.update(updates)
    model.load_state_dict(sd)
    head = model.model[-1]
    if _is_anchor_head(head):  # cached grids hold the anchors of before the load
        head.grid = [torch.empty(0) for _ in range(head.nl)]
        head.anchor_grid = [torch.empty(0) for _ in range(head.nl)]
    if verbose:
        LOGGER.info(_summary(report, getattr(head, "nc", "?")))
    return report


def check_yolov5_transfer(cfg, ckpt, label: str | None = None) -> None:
    """``UsageError`` before training when the YOLOv5 checkpoint does not fit model yaml ``cfg`` (built once on CPU)."""
    from ultralytics.nn.tasks import DetectionModel

    ck = read_checkpoint_or_usage_error(ckpt, label)
    _plan(DetectionModel(cfg, verbose=False), ck, label or f"checkpoint {ck.path}")

"""What a run trained, read from its checkpoint: attention layers, the base model under them, the initialisation.

``config_key(yaml_dict)`` drops every layer whose module is a registered attention module and re-indexes the
``from`` fields (a reference to an attention layer becomes a reference to its input, attention being a same-shape
map), so ``yolov5n-se-neck`` and plain ``yolov5n`` give the same signature, as do ``yolov8n`` with and without CBAM:
the comparison finds each config's baseline this way for any ultralytics detector and any placement.
"""

from __future__ import annotations

from yolo_attn.graph.rows import is_attention, model_rows, strip_attention

__all__ = ("attention_layers", "config_key")


def attention_layers(d: dict) -> list[str]:
    """Names of the attention modules in a model yaml dict, in layer order, e.g. ``["SE", "SE", "SE"]``."""
    return [str(row[2]) for row in model_rows(d) if is_attention(row[2])]


def config_key(d: dict) -> tuple:
    """Hashable description of the model with its attention layers removed (nc, scale multiples, layer rows)."""
    keep = tuple((src, n, str(m), repr(args)) for src, n, m, args in strip_attention(d)[1])
    scale = d.get("scale")
    scales = d.get("scales") or {}
    mult = tuple(scales.get(scale, ())) if scale in scales else (d.get("depth_multiple"), d.get("width_multiple"))
    return d.get("nc"), mult, keep

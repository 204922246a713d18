"""A yaml from the wild, built and rewritten: the logic of ``python -m yolo_attn check|fix``.

``load_yaml(path, scale)`` reads a model yaml the way ``YOLO(path)`` does (ultralytics' ``yaml_model_load``) and
``build_yaml(d)`` builds it (``DetectionModel``; a YOLOv5-format yaml with ``anchors:`` and ``Detect, [nc, anchors]``
gets the anchor head, ``yolo_attn.anchor``) and returns the notes of every converted row. ``dialect_dict(d, notes)`` rewrites the rows in
yolo_attn's own dialect (our class names, no channel arguments); ``write_dialect_yaml`` writes it one row per line
with ``# i`` comments, keeping every other key (``nc``, ``scales`` or the multiples, ``anchors``) and each ``from``.
"""

from __future__ import annotations

import copy
from pathlib import Path


from yolo_attn.graph.rows import flow_text, model_rows, strip_attention, write_rows_yaml

HEADER = "yolo_attn dialect of"  # the first comment of every file fix writes: fix may replace such a file

__all__ = ("HEADER", "load_yaml", "build_yaml", "base_model_dict", "attention_cost", "dialect_dict", "write_dialect_yaml")


def load_yaml(path, scale: str | None = None) -> dict:
    """The model dict as ``YOLO(path)`` reads it (scale from the file name, or ``scale``)."""
    from ultralytics.nn.tasks import yaml_model_load

    from yolo_attn.graph.yaml_guard import check_layout

    d = yaml_model_load(str(path))
    d["yaml_file"] = Path(str(path)).name
    check_layout(d)  # an empty file: one message, not ultralytics' KeyError('backbone')
    if scale:
        d["scale"] = scale
    return d


def build_model(d: dict):
    """Build model dict ``d`` as ``YOLO()`` would: ultralytics' DetectionModel (a YOLOv5-format yaml, ``anchors:`` and
    ``Detect, [nc, anchors]``, becomes yolo_attn's ``AnchorDetectionModel`` there, through the parse_model hook)."""
    from ultralytics.nn.tasks import DetectionModel

    return DetectionModel(copy.deepcopy(d), verbose=False)


def build_yaml(d: dict):
    """``(model, notes)``: the built model and the :class:`~yolo_attn.graph.dialect.Note` of each converted row."""
    from yolo_attn.graph.dialect import collect_notes

    with collect_notes() as notes:
        model = build_model(d)
    return model, list(notes)


def base_model_dict(d: dict) -> dict:
    """Model dict ``d`` without its attention rows (``yolo_attn.graph.rows.strip_attention``: a reader of an attention
    layer reads its input): the base the attention cost is measured against."""
    out = copy.deepcopy(d)
    _, base = strip_attention(d)
    keep = [[list(src) if len(src) > 1 or isinstance(row_f, list) else src[0], n, m, copy.deepcopy(a)]
            for (src, n, m, a), row_f in zip(base, _base_froms(d))]
    nb = sum(1 for row in (d.get("backbone") or []) if not is_attention_row(row))
    out["backbone"], out["head"] = keep[:nb], keep[nb:]
    return out


def is_attention_row(row) -> bool:
    from yolo_attn.graph.rows import is_attention

    return is_attention(row[2])


def _base_froms(d: dict) -> list:
    """The written ``from`` of each base row (list or int), to keep a one-entry list a list."""
    return [row[0] for row in model_rows(d) if not is_attention_row(row)]


def attention_cost(model, d: dict, imgsz: int = 640) -> tuple[int, float]:
    """(parameters, GFLOPs at ``imgsz``) that the attention layers add to the base model."""
    from ultralytics.utils.torch_utils import get_flops

    from yolo_attn.graph.checks import quiet_graph_warnings

    with quiet_graph_warnings():  # the user's build warned already, in the user's layer numbers
        base = build_model(base_model_dict(d))
    params = sum(p.numel() for p in model.parameters()) - sum(p.numel() for p in base.parameters())
    return params, get_flops(model, imgsz) - get_flops(base, imgsz)


def dialect_dict(d: dict, notes) -> tuple[dict, list[str]]:
    """``d`` with each converted row in yolo_attn's dialect, and one line per change."""
    out = copy.deepcopy(d)
    by_layer = {n.i: n for n in notes}
    changes, i = [], 0
    for part in ("backbone", "head"):
        for row in out.get(part) or []:
            note = by_layer.get(i)
            if note is not None:
                new = [row[0], row[1], note.target, list(note.our_args)]
                changes.append(f"layer {i}: {flow_text(row)} -> {flow_text(new)}  ({note.text.split(': ', 1)[1]})")
                row[2], row[3] = new[2], new[3]
            i += 1
    return out, changes


def write_dialect_yaml(d: dict, path, source: str) -> Path:
    """Write ``d`` one row per line with ``# i`` comments; every other key kept as it was read."""
    return write_rows_yaml(d, path, [f"{HEADER} {source}, written by python -m yolo_attn fix"])

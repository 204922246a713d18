"""Rows of a model dict and what they read: the one ``from`` resolver and the one attention stripper.

Every other module of ``yolo_attn.graph`` (placement, checks, base, transfer) reads rows and ``from`` indices through
these functions, so a change in how ultralytics spells a row is made once.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import NamedTuple

__all__ = ("model_rows", "is_attention", "from_entries", "from_indices", "AttentionSlot", "strip_attention",
           "base_layout", "new_attention_layers", "flow_text", "write_rows_yaml")


def model_rows(d: dict) -> list:
    """Backbone and head rows of an ultralytics model dict, in layer-index order."""
    return list(d.get("backbone") or []) + list(d.get("head") or [])


def is_attention(name) -> bool:
    """True for a row's module name that is a registered attention module or a peer's name for one (alias)."""
    from yolo_attn.graph.aliases import ALIASES
    from yolo_attn.registry import ATTENTION_REGISTRY

    return isinstance(name, str) and (name in ATTENTION_REGISTRY or name in ALIASES)


def from_entries(f) -> list:
    """A row's ``from`` as a list of its entries (``-1`` -> ``[-1]``, ``[-1, 6]`` unchanged)."""
    return list(f) if isinstance(f, (list, tuple)) else [f]


def from_indices(i: int, f) -> list[int]:
    """Absolute indices row ``i`` reads: relative entries resolved (``-1`` of row 0 stays -1: the image input)."""
    return [j if j >= 0 else i + j for j in from_entries(f)]


class AttentionSlot(NamedTuple):
    """Where an attention row sits relative to the base: the ``k``-th attention row right after base layer ``after``.

    ``after`` is -1 for attention rows before the first base layer. Two models of the same base carry attention
    weights over between equal slots (same module name too).
    """

    after: int
    module: str
    k: int


def strip_attention(d: dict) -> tuple[list, list[tuple]]:
    """The base of model dict ``d``: its registered-attention rows removed and the indices closed up.

    Returns ``(layout, base_rows)``. ``layout`` maps each layer index of ``d`` to its base index (``int``) or, for an
    attention row, an ``AttentionSlot``. ``base_rows`` holds ``(sources, n, module, args)`` per base row, ``sources``
    the absolute base indices it reads: a reference to an attention row becomes a reference to that row's input
    (attention is a same-shape map), so whoever read the attention output reads its input in the base model.
    """
    remap, layout, keep, after, k = {}, [], [], -1, 0
    for i, (f, n, m, args) in enumerate(model_rows(d)):
        src = tuple(remap.get(j, j) for j in from_indices(i, f))
        if is_attention(m):
            remap[i] = src[0]
            layout.append(AttentionSlot(after, m, k))
            k += 1
            continue
        remap[i] = after = len(keep)
        layout.append(after)
        k = 0
        keep.append((src, n, m, args))
    return layout, keep


def base_layout(d: dict) -> list:
    """Map each layer index of model dict ``d`` to its base index (``int``) or, for attention rows, an ``AttentionSlot``.

    The base is ``d`` with its registered-attention rows removed and the indices closed up; e.g. for
    ``yolov5n-se.yaml`` (SE at index 9) the result is ``[0, ..., 8, AttentionSlot(8, 'SE', 0), 9, ..., 24]``.
    """
    if not isinstance(d, dict) or "backbone" not in d:
        raise ValueError("expected an ultralytics model dict with 'backbone' and 'head' (yaml_model_load or model.yaml)")
    return strip_attention(d)[0]


def new_attention_layers(dst_layout: list, src_layout: list, carried=lambda pos: True) -> list[int]:
    """Indices of the destination's attention layers that start untrained: no same module at the same base position
    in the source (``carried(pos)`` may refuse a slot the source has, e.g. for another class there). Parameter-free
    layers (SimAM) count too: they change what the layers after them see all the same."""
    have = set(src_layout)
    return [i for i, pos in enumerate(dst_layout) if not isinstance(pos, int) and not (pos in have and carried(pos))]


def flow_text(value) -> str:
    """``value`` as one yaml flow line (a row: ``[-1, 1, SE, [16]]``)."""
    import yaml

    return yaml.safe_dump(value, default_flow_style=True, width=1 << 16, sort_keys=False).strip()


def write_rows_yaml(d: dict, path, header: list[str], skip=()) -> Path:
    """The one writer of a model dict: ``header`` comment lines, every top-level key but the rows (and ``skip``), then
    ``backbone:``/``head:`` one row per line with ``# i`` comments. Returns ``path``."""
    import yaml

    path = Path(path)
    lines = [*(f"# {h}" for h in header), ""]
    drop = {"backbone", "head", "yaml_file", "scale", *skip}
    for k, v in d.items():  # key by key: a mapping of scalars only would otherwise be dumped as one {flow} line
        if k not in drop:
            flow = None if isinstance(v, (dict, list)) else False
            lines.append(yaml.safe_dump({k: v}, sort_keys=False, default_flow_style=flow, width=120).rstrip())
    lines += numbered_row_lines(d, flow_text)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:  # whole or not at all: a full temporary file beside it, then one rename
        tmp.write_text("\n".join(lines) + "\n")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def numbered_row_lines(d: dict, row_text) -> list[str]:
    """The ``backbone:`` and ``head:`` parts of ``d`` as yaml lines, one row a line (``row_text(row)``) with ``# i``."""
    lines, i = [], 0
    for part in ("backbone", "head"):
        lines += ["", f"{part}:"]
        for row in d.get(part) or []:
            lines.append(f"  - {row_text(row)} # {i}")
            i += 1
    return lines

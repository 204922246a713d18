"""Rows of a model dict and what they read: the one ``from`` resolver and the one attention stripper.

Every other module of ``yolo_attn.graph`` (placement, checks, base, transfer) reads rows and ``from`` indices through
these functions, so a change in how ultralytics spells a row is made once.
"""

from __future__ import annotations

from typing import NamedTuple

__all__ = ("model_rows", "is_attention", "from_entries", "from_indices", "AttentionSlot", "strip_attention")


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


def numbered_row_lines(d: dict, row_text) -> list[str]:
    """The ``backbone:`` and ``head:`` parts of ``d`` as yaml lines, one row a line (``row_text(row)``) with ``# i``."""
    lines, i = [], 0
    for part in ("backbone", "head"):
        lines += ["", f"{part}:"]
        for row in d.get(part) or []:
            lines.append(f"  - {row_text(row)} # {i}")
            i += 1
    return lines

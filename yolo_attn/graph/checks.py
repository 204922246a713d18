"""Graph checks on a model dict before anything is built: ``check_graph(d)``.

ultralytics indexes its channel and output lists with each row's ``from``; an index out of range or pointing
forward fails deep inside ``parse_model`` or the forward pass with a raw ``IndexError`` that names neither the
yaml nor the layer, and an attention row whose output nothing reads trains silently as dead weight. This module
turns both into messages naming the yaml file, the layer, the row and the fix.
"""

from __future__ import annotations

from yolo_attn.graph.rows import from_entries, from_indices, is_attention, model_rows

__all__ = ("check_graph",)


def _where(d: dict, i: int, row) -> str:
    return f"{d.get('yaml_file') or 'model yaml'}: layer {i} {list(row) if isinstance(row, (list, tuple)) else row!r}"


def _sources(d: dict, i: int, row) -> list[int]:
    """Absolute indices row ``i`` reads (``-1`` of row 0 is the image input); a ValueError for a bad index."""
    entries = from_entries(row[0])
    if not entries:
        raise ValueError(f"{_where(d, i, row)}: 'from' is empty; give -1 (the previous layer) or a layer index")
    out = []
    valid = f"-1..-{i} (relative) or 0..{i - 1} (absolute)" if i else "-1 (the image input)"
    fix = (f"a layer can only read earlier layers: valid here {valid}. If layers were inserted above, shift every "
           f"later 'from' (or generate the yaml with yolo_attn.insert_attention)")
    for j in entries:
        if isinstance(j, bool) or not isinstance(j, int):
            raise ValueError(f"{_where(d, i, row)}: 'from' entry {j!r} is not an integer; {fix}")
        if i == 0 and j == -1:
            continue  # the image input
        (a,) = from_indices(i, j)
        if 0 <= a < i:
            out.append(a)
            continue
        why = ("points at the layer itself" if a == i else "points forward, to a layer built later") if a >= i else (
            "reaches before layer 0")
        raise ValueError(f"{_where(d, i, row)}: 'from' index {j} {why} (resolves to {a}); {fix}")
    return out


def check_graph(d: dict) -> list[str]:
    """Check every row's ``from`` of model dict ``d`` (backbone + head) without building anything.

    Raises ``ValueError`` naming the yaml, the layer, the row and the fix for a ``from`` index that is not an int,
    out of range, or points at the row itself or forward (absolute and relative, int and list forms).
    Warns (``LOGGER.warning``) for each registered attention row whose output no later row reads, naming the rows
    that read its input directly instead (they bypass it). Returns the warnings.
    """
    from ultralytics.utils import LOGGER

    rows = model_rows(d)
    sources = []
    for i, row in enumerate(rows):
        if not isinstance(row, (list, tuple)) or len(row) != 4:
            raise ValueError(f"{_where(d, i, row)}: each layer is [from, number, module, args]")
        sources.append(_sources(d, i, row))
    warnings = []
    for a, row in enumerate(rows):
        if not is_attention(row[2]) or any(a in s for s in sources[a + 1:]):
            continue
        inputs = sources[a] or [-1]
        bypass = [k for k in range(a + 1, len(rows)) if set(inputs) & set(sources[k])]
        by = f"; layers {bypass} read its input (layer {inputs[0]}) directly, bypassing it" if bypass else ""
        msg = (
            f"{_where(d, a, row)}: the {row[2]} output is read by no later layer{by}. The module trains as dead "
            f"weight; make the readers of layer {inputs[0]} read layer {a} (or generate the yaml with "
            f"yolo_attn.insert_attention)"
        )
        LOGGER.warning(msg)
        warnings.append(msg)
    return warnings

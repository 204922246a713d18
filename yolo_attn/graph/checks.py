"""Graph checks on a model dict before anything is built: ``check_graph(d)``.

ultralytics indexes its channel and output lists with each row's ``from``; an index out of range or pointing
forward fails deep inside ``parse_model`` or the forward pass with a raw ``IndexError`` that names neither the
yaml nor the layer; a layer whose output nothing reads (an attention row bypassed, or any layer after indices were
left stale by a hand edit) builds and trains silently. This module turns both into messages naming the yaml file, the
layer, the row and the fix (errors for bad indices, warnings for unread layers).
"""

from __future__ import annotations

import contextlib

from yolo_attn.graph.rows import from_entries, from_indices, is_attention, model_rows

__all__ = ("check_graph",)

# Layers whose output the model's forward consumes outside 'from' (YOLO-World's WorldModel.predict turns the
# ImagePoolingAttn output into its text features), so no later row reading them is expected.
SIDE_OUTPUT_MODULES = frozenset({"ImagePoolingAttn"})


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


_quiet: list[bool] = []  # inside quiet_graph_warnings(): warnings returned, not logged


@contextlib.contextmanager
def quiet_graph_warnings():
    """Build a model derived from the user's yaml (the attention-stripped base of ``check``'s cost figure) without
    logging warnings in layer numbers that are not the user's: the user's own build warned already."""
    _quiet.append(True)
    try:
        yield
    finally:
        _quiet.pop()


def check_graph(d: dict) -> list[str]:
    """Check every row's ``from`` of model dict ``d`` (backbone + head) without building anything.

    Raises ``ValueError`` naming the yaml, the layer, the row and the fix for a ``from`` index that is not an int,
    out of range, or points at the row itself or forward (absolute and relative, int and list forms).
    Warns (``LOGGER.warning``) for each layer but the last whose output no later row reads: for a registered
    attention row, naming the rows that read its input directly instead (they bypass it); for any other layer, naming
    its module and the later rows whose absolute 'from' probably meant it (stale indices). Returns the warnings.
    """
    from ultralytics.utils import LOGGER

    rows = model_rows(d)
    sources = []
    for i, row in enumerate(rows):
        if not isinstance(row, (list, tuple)) or len(row) != 4:
            raise ValueError(f"{_where(d, i, row)}: each layer is [from, number, module, args]")
        sources.append(_sources(d, i, row))
    warnings = []
    for a, row in enumerate(rows[:-1]):  # the last layer (Detect, Segment, ...) is the model's output
        if row[2] in SIDE_OUTPUT_MODULES or any(a in s for s in sources[a + 1:]):
            continue
        msg = _unread_attention(d, rows, sources, a) if is_attention(row[2]) else _unread_layer(d, rows, sources, a)
        if not _quiet:
            LOGGER.warning(msg)
        warnings.append(msg)
    return warnings


def _unread_attention(d: dict, rows: list, sources: list, a: int) -> str:
    """An attention row nobody reads: name the rows that read its input directly (they bypass it)."""
    row = rows[a]
    inputs = sources[a] or [-1]
    bypass = [k for k in range(a + 1, len(rows)) if set(inputs) & set(sources[k])]
    by = f"; layers {bypass} read its input (layer {inputs[0]}) directly, bypassing it" if bypass else ""
    return (
        f"{_where(d, a, row)}: the {row[2]} output is read by no later layer{by}. The module trains as dead "
        f"weight; make the readers of layer {inputs[0]} read layer {a} (or generate the yaml with "
        f"yolo_attn.insert_attention)"
    )


def _unread_layer(d: dict, rows: list, sources: list, a: int) -> str:
    """Any other row nobody reads: almost always 'from' indices left stale after rows were inserted or removed.

    The rows that probably meant it are later rows whose absolute 'from' points just before it (a row inserted above
    shifts layer a-1 to a, and absolute indices written for the old layout then miss by the number inserted).
    """
    row = rows[a]
    near = [k for k in range(a + 1, len(rows))
            if any(isinstance(j, int) and 0 <= j < a and a - j <= 3 for j in from_entries(rows[k][0]))]
    if near:
        who = ", ".join(f"layer {k} {rows[k][2]} (from {rows[k][0]})" for k in near)
        hint = f"; rows that probably meant it: {who}"
    else:
        hint = "; check the absolute 'from' indices of the later rows"
    return (
        f"{_where(d, a, row)}: the {row[2]} output (layer {a}) is read by no later layer{hint}. A layer nothing reads "
        f"is almost always a stale index: if rows were inserted above, shift every later absolute 'from' (or generate "
        f"the yaml with yolo_attn.insert_attention)"
    )


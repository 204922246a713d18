"""Unknown module names in a yaml: one message naming every one, with its layer, and composites expanded by ``fix``.

A yaml copied from another project's fork names classes that project defined. They fall in three kinds, and each gets
advice of its own kind only: an attention module (suggestions among our modules and the peer names we read, and how
to register one), a head (suggestions among the heads the builder has; never the advice to register it as
attention), or a composite, an ordinary block with attention built in (``CBAMC3``, ``C3_CBAM``, ``Conv_CBAM``,
``C2f_EMA``): it is named with what it usually is, and ``python -m yolo_attn fix --expand`` writes the closest
yolo_attn rows (the block, then the attention row), which are not the same model. A name like nothing we know gets
no suggestion. Shared by the ultralytics hook and the YOLOv5 adapter (``unknown_names_message``).
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass

__all__ = ("Composite", "composite_of", "name_kind", "unknown_names_message", "expand_composites")

_HEAD_WORDS = re.compile(r"(?i)detect|head|segment|pose|obb|classify")
_ATTN_WORDS = re.compile(r"(?i)att|excit|enhance|cbam|eca|ema|simam|srm|gam|nam|coord|shuffle|triplet|context|sge|"
                         r"^se|se$|bam|^gc|gct|^sk|^a2|^mhsa|polarized")

# blocks an attention module is commonly built into, and what the composite usually is
_BLOCKS = {
    "c3": ("C3", "a C3 whose bottlenecks end in {attn} (before the shortcut)"),
    "c2f": ("C2f", "a C2f whose bottlenecks end in {attn}, or a C2f followed by {attn}"),
    "c3k2": ("C3k2", "a C3k2 whose bottlenecks end in {attn}"),
    "conv": ("Conv", "a Conv (conv, BN, SiLU) followed by {attn} in one layer"),
    "bottleneck": ("Bottleneck", "a Bottleneck with {attn} before its shortcut"),
    "bottleneckcsp": ("BottleneckCSP", "a BottleneckCSP whose bottlenecks end in {attn}"),
    "sppf": ("SPPF", "an SPPF with {attn} on its output"),
}
# attention words as forks spell them inside composite names -> our module
_ATTN_TOKENS = {"cbam": "CBAM", "se": "SE", "eca": "ECA", "ema": "EMA", "ca": "CA", "coordatt": "CA", "simam": "SimAM",
                "gam": "GAM", "sa": "SA", "shuffleattention": "SA", "nam": "NAM", "triplet": "TripletAttention",
                "tripletattention": "TripletAttention", "gc": "GC", "bam": "BAM", "sge": "SGE", "srm": "SRM",
                "seattention": "SE", "ecaattention": "ECA", "gamattention": "GAM"}


@dataclass(frozen=True)
class Composite:
    """A fork's block-with-attention class: ``block`` (ours) with ``attention`` (ours) built in."""

    name: str
    block: str
    attention: str
    usually: str


def composite_of(name) -> Composite | None:
    """``CBAMC3`` / ``C3_CBAM`` / ``C3CBAM`` / ``CBAMBottleneck`` / ``Conv_CBAM`` / ``C2f_EMA`` -> :class:`Composite`."""
    if not isinstance(name, str):
        return None
    low = name.lower()
    for block in sorted(_BLOCKS, key=len, reverse=True):  # bottleneckcsp before bottleneck, c3k2 before c3
        if low.startswith(block):
            rest = low[len(block):]
        elif low.endswith(block):
            rest = low[:-len(block)]
        else:
            continue
        attn = _ATTN_TOKENS.get(rest.strip("_"))
        if attn is not None:
            ours, usually = _BLOCKS[block]
            return Composite(name, ours, attn, usually.format(attn=attn))
    return None


def name_kind(name: str) -> str:
    """``"composite"``, ``"head"``, ``"attention"`` or ``"unsure"`` for an unknown yaml module name."""
    if composite_of(name):
        return "composite"
    if _HEAD_WORDS.search(name):
        return "head"
    return "attention" if _ATTN_WORDS.search(name) else "unsure"


def _suggest(name: str, kind: str, attention_names, head_names, layer_names) -> str:
    from yolo_attn.registry import closest_names

    if kind == "head":
        inside = [h for h in sorted(head_names, key=len, reverse=True) if h.lower() in name.lower()]
        close = inside[:1] or closest_names(name, sorted(head_names))
        return (f"a detection head from another project's code, not an attention module"
                + (f"; the nearest head here is {close[0]!r} (a different head: check it is what you want)"
                   if close else ""))
    close = closest_names(name, sorted(attention_names))
    if not close and kind == "unsure":
        close = closest_names(name, sorted(layer_names))
    what = "an attention module from another project's code" if kind == "attention" else ""
    hint = f"Did you mean {close[0]!r}?" if close else ""
    return "; ".join(p for p in (what, hint) if p)


def _composite_text(c: Composite, row) -> str:
    f, n, _, args = row
    return (f"a composite: usually {c.usually}; yolo_attn does not build composites. Closest yolo_attn rows, written "
            f"by python -m yolo_attn fix --expand: [{f}, {n}, {c.block}, {list(args)!r}] then [-1, 1, {c.attention}, "
            f"[]] (not the same model: the attention sits after the block, not inside it)")


def unknown_names_message(yaml_file: str, unknown: list, attention_names, head_names, layer_names,
                          registered=None) -> str:
    """One message for every unknown name: ``unknown`` is ``[(layer index, row), ...]``; suggestions among
    ``attention_names`` (registered modules and peer names), ``head_names`` or ``layer_names`` by the name's kind;
    ``registered`` (default: ``attention_names``) is the list shown."""
    parts, register = [], False
    for i, row in unknown:
        name = row[2]
        kind = name_kind(name)
        text = _composite_text(composite_of(name), row) if kind == "composite" else \
            _suggest(name, kind, attention_names, head_names, layer_names)
        register |= kind in ("attention", "unsure")
        parts.append(f"layer {i} {name!r}" + (f" ({text})" if text else ""))
    if len(unknown) == 1:  # the 0.1.0 wording for one name
        i, row = unknown[0]
        msg = f"{yaml_file}: layer {i} uses unknown module {row[2]!r}" + parts[0][len(f"layer {i} {row[2]!r}"):] + "."
    else:
        msg = f"{yaml_file}: {len(unknown)} unknown module names: {'; '.join(parts)}."
    if register:
        msg += (f" Registered attention modules: {', '.join(sorted(registered or attention_names))} (import yolo_attn before "
                f"building; register your own attention module with @yolo_attn.register_attention and load its "
                f"module with --import MODULE or YOLO_ATTN_IMPORT=MODULE)")
    return msg


def expand_composites(d: dict) -> tuple[dict, list[str]]:
    """``d`` with each composite row replaced by its block row and an attention row after it (the readers of the
    composite read the attention row); one line per change. Not the same model: see :func:`composite_of`."""
    from yolo_attn.graph.placement import _reindex
    from yolo_attn.graph.rows import model_rows

    rows, nb = model_rows(d), len(d.get("backbone") or [])
    pos = [i for i, r in enumerate(rows) if isinstance(r, (list, tuple)) and len(r) == 4 and composite_of(r[2])]
    if not pos:
        return d, []

    def new(k):
        return k + sum(p < k for p in pos)

    def remap(j):
        return new(j) + 1 if j in pos else new(j)

    out, backbone, head, changes = copy.deepcopy(d), [], [], []
    for i, (f, n, m, a) in enumerate(rows):
        part = backbone if i < nb else head
        c = composite_of(m) if i in pos else None
        part.append([_reindex(f, i, new(i), remap), n, c.block if c else m, copy.deepcopy(a)])
        if c:
            part.append([-1, 1, c.attention, []])
            changes.append(f"layer {i}: [{f}, {n}, {m}, {list(a)!r}] -> [{f}, {n}, {c.block}, {list(a)!r}] + "
                           f"[-1, 1, {c.attention}, []]  ({m} is usually {c.usually}; the expanded rows are not the "
                           f"same model)")
    out["backbone"], out["head"] = backbone, head
    return out, changes

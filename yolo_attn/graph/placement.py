"""Generate attention placements on any ultralytics detection yaml: ``insert_attention(base, module, at, args)``.

Placements are found from the yaml's graph (which layers the Concats and the detection head read), never from
hard-coded indices, so they hold for YOLOv5/v8/11, their P2/P6 variants and yamls that already have attention:

- ``"backbone"``: after the backbone layer right before the first SPPF/SPP/SPPELAN of the backbone (yolo11's
  C2PSA comes after SPPF, so yolo11 also gets the module before SPPF). A backbone without such a layer: after its
  last layer.
- ``"stages"``: after each backbone layer the head reads through a ``from`` other than its previous layer (the
  P2..P6 taps), when that layer comes before the SPPF; plus the ``"backbone"`` position (the deepest stage).
- ``"neck"``: after each layer the detection head reads; the head then reads the attention outputs.
- integers: after those layers of the base yaml as given (``[6, 8]`` on yolov5s is the EMA authors' layout).

Every ``from`` is re-indexed: absolute indices shifted, relative ones recomputed, and every reader of a layer an
attention module follows reads the attention output instead. The result is an ultralytics model dict (like
``yaml_model_load`` gives) with provenance in ``d["attn"]``; ``write_model_yaml`` writes it as a readable yaml.
"""

from __future__ import annotations

import copy
import re
from pathlib import Path


from yolo_attn.graph.records import START_KEY
from yolo_attn.graph.rows import from_indices, model_rows, write_rows_yaml

__all__ = (
    "PLACEMENTS", "insert_attention", "placement_positions", "parse_at", "parse_attn_args", "at_label",
    "write_model_yaml", "generate_cfg",
)

PLACEMENTS = ("backbone", "stages", "neck")
_SPP = ("SPPF", "SPP", "SPPELAN")


def _head_row(d: dict, name: str) -> int:
    """Index of the detection head (the last row); a ValueError if it is not a Detect-like module."""
    import ultralytics.nn.tasks as tasks
    from ultralytics.nn.modules.head import Detect

    rows = model_rows(d)
    if not rows:
        raise ValueError(f"base {name}: no backbone/head layers")
    cls = vars(tasks).get(rows[-1][2])
    if not (isinstance(cls, type) and issubclass(cls, Detect)):
        raise ValueError(
            f"base {name}: the last head row {rows[-1]!r} is not a detection head (Detect, Segment, Pose, OBB, "
            f"v10Detect, ...); placements need a detector yaml such as yolov5s.yaml or yolo11n.yaml"
        )
    return len(rows) - 1


def placement_positions(d: dict, at, name: str = "base") -> list[int]:
    """Base-yaml layer indices after which ``at`` (a placement or list of them) inserts a module, sorted, deduped."""
    rows = model_rows(d)
    head = _head_row(d, name)
    nb = len(d.get("backbone") or [])
    spp = next((i for i, r in enumerate(rows[:nb]) if r[2] in _SPP), None)
    before_spp = spp - 1 if spp else nb - 1  # backbone without SPPF: its last layer
    out = set()
    for a in at if isinstance(at, (list, tuple)) else [at]:
        if isinstance(a, bool) or not isinstance(a, (int, str)):
            raise ValueError(f"placement {a!r}: use one of {', '.join(PLACEMENTS)} or layer indices such as 6,8")
        if isinstance(a, int):
            if not 0 <= a < head:
                raise ValueError(
                    f"placement {a} on base {name}: layer index out of range; valid: 0..{head - 1} (layer {head} is "
                    f"the detection head {rows[head][2]}, which nothing may follow)"
                )
            out.add(a)
        elif a == "backbone":
            out.add(before_spp)
        elif a == "stages":
            limit = spp if spp is not None else nb
            taps = {j for i in range(nb, len(rows)) for j in from_indices(i, rows[i][0]) if j != i - 1 and 0 <= j < limit}
            out |= taps | {before_spp}
        elif a == "neck":
            out |= set(from_indices(head, rows[head][0]))
        else:
            raise ValueError(f"placement {a!r}: use one of {', '.join(PLACEMENTS)} or layer indices such as 6,8")
    return sorted(out)


def _reindex(f, i: int, new_i: int, remap) -> int | list:
    """``from`` of old row ``i`` (now row ``new_i``) with each source remapped; keeps relative entries relative."""

    def one(j):
        if i == 0 and j == -1:
            return j  # the image input
        target = remap(j if j >= 0 else i + j)
        return target - new_i if j < 0 else target

    return [one(j) for j in f] if isinstance(f, list) else one(f)


def at_label(at) -> str:
    """File-name label of a placement: ``neck``, ``6+8``, ``backbone+neck``."""
    return "+".join(str(a) for a in (at if isinstance(at, (list, tuple)) else [at]))


def insert_attention(base, module: str, at="backbone", args=()) -> dict:
    """Model dict of ``base`` with ``module`` inserted at placement(s) ``at``.

    Args:
        base: any ultralytics detection yaml, name or path, scale letter allowed (``yolov5s.yaml``, ``yolo11n.yaml``,
            ``yolov8n-p2.yaml``, ``yolov5n-se.yaml``, ``cfg/my.yaml``), or a model dict.
        module: registered attention name (``yolo_attn.get_attention`` gives the KeyError for unknown names).
        at: ``"backbone"``, ``"stages"``, ``"neck"``, a base layer index, or a list of these.
        args: the module's own arguments after the channels, e.g. ``[8]`` for ``EMA(c, factor=8)``.

    Returns:
        The ultralytics model dict (``nc``, ``scales``, ``backbone``, ``head``, ``scale``, ``yaml_file``, ...) with
        ``d["attn"]`` = ``{"base", "module", "at", "args", "layers"}`` (``layers``: indices of the inserted rows);
        a list of such records when ``base`` already had one.
    """
    from ultralytics.nn.tasks import yaml_model_load

    from yolo_attn.registry import get_attention
    from yolo_attn.graph.checks import check_graph

    get_attention(module)
    if isinstance(args, (str, bytes)) or not isinstance(args, (list, tuple)):
        raise ValueError(f"args {args!r}: give {module}'s own arguments as a list, e.g. [] or [8] (never channels)")
    if isinstance(base, dict):
        d, name = copy.deepcopy(base), base.get("yaml_file", "model dict")
    else:
        d, name = yaml_model_load(str(base)), str(base)
    check_graph(d)  # a base with bad 'from' indices cannot be re-indexed meaningfully: its error names the layer
    at_list = list(at) if isinstance(at, (list, tuple)) else [at]
    if not at_list:
        raise ValueError(f"placement is empty; use one of {', '.join(PLACEMENTS)} or layer indices such as 6,8")
    pos = placement_positions(d, at_list, name)
    rows, nb = model_rows(d), len(d.get("backbone") or [])

    def new(k):  # new index of base row k
        return k + sum(p < k for p in pos)

    def remap(j):  # readers of a followed layer read the attention row right after it
        return new(j) + 1 if j in pos else new(j)

    backbone, head = [], []
    for i, (f, n, m, a) in enumerate(rows):
        part = backbone if i < nb else head
        part.append([_reindex(f, i, new(i), remap), n, m, copy.deepcopy(a)])
        if i in pos:
            part.append([-1, 1, module, list(args)])
    d["backbone"], d["head"] = backbone, head
    rec = {"base": name, "module": module, "at": at_list, "args": list(args), "layers": [new(p) + 1 for p in pos]}
    old = d.get("attn")
    d["attn"] = rec if old is None else [*(old if isinstance(old, list) else [old]), rec]
    d["yaml_file"] = f"{Path(name).stem}-{module.lower()}-{at_label(at_list)}.yaml"
    return d


def parse_at(text: str) -> list:
    """``--at`` value -> list of placements: ``neck`` -> ["neck"], ``6,8`` -> [6, 8], ``backbone,neck``."""
    out = []
    for w in (s.strip() for s in str(text).split(",")):
        if not w:
            continue
        out.append(int(w) if re.fullmatch(r"-?\d+", w) else w.lower())
    if not out:
        raise ValueError(f"--at {text!r} is empty; use one of {', '.join(PLACEMENTS)} or layer indices such as 6,8")
    return out


def parse_attn_args(text) -> list:
    """``--attn-args`` value -> list: ``8`` -> [8], ``8,7`` -> [8, 7], ``0.1`` -> [0.1]; a list passes through."""
    from ultralytics.cfg import smart_value

    if isinstance(text, (list, tuple)):
        return list(text)
    return [smart_value(w.strip()) for w in str(text or "").split(",") if w.strip()]


def _family(d: dict) -> str:
    """``yolov8`` for a dict built from ``yolov8n.yaml`` (``yolo11``, ``yolov5``, ...): the part of its yaml name before
    the scale letter, which a file name must start with for ultralytics to read the scale (``yolov5`` if unknown)."""
    recs = d.get("attn")
    base = (recs[0] if isinstance(recs, list) and recs else recs or {}).get("base") if recs else None
    for src in (d.get("yaml_file"), base):
        m = re.match(r"(yolo(?:e-)?v?\d+)", Path(str(src or "")).name)
        if m:
            return m.group(1)
    return "yolov5"


def write_model_yaml(d: dict, path) -> Path:
    """Write model dict ``d`` as a readable yaml (one layer row per line with ``# index`` comments).

    ``YOLO(path)`` builds the same model: the scale comes from the file name (ultralytics' ``guess_model_scale``), so
    a dict with ``scale: s`` must be written to a name such as ``yolov5s-....yaml`` (ValueError otherwise).
    """
    from ultralytics.nn.tasks import guess_model_scale

    path = Path(path)
    scale = d.get("scale") or ""
    if scale and guess_model_scale(path) != scale:
        raise ValueError(
            f"{path.name}: ultralytics reads the model scale from the file name, and this name gives "
            f"{guess_model_scale(path) or 'none'!r}, not {scale!r}; name it like {_family(d)}{scale}-....yaml"
        )
    recs = d.get("attn")
    recs = [] if recs is None else recs if isinstance(recs, list) else [recs]
    header = ["generated by yolo_attn.insert_attention"]
    header += [f"  {r['module']} {r['args']} at {at_label(r['at'])} of {r['base']} -> layers {r.get('layers')}" for r in recs]
    return write_rows_yaml(d, path, header, skip=(START_KEY,))


def generate_cfg(base, module: str, at, args, folder) -> Path:
    """Write ``insert_attention(base, module, at, args)`` to ``folder/<base_stem>-<module>-<at>.yaml`` and return it.

    The layers are built once first (no forward), so bad module args fail before any file is written. An existing
    file of that name is reused when its content is the same, never overwritten otherwise (ValueError).
    """
    from ultralytics.nn.tasks import parse_model

    d = insert_attention(base, module, at, args)
    parse_model(copy.deepcopy(d), 3, verbose=False)
    return write_once(d, Path(folder) / d["yaml_file"], write_model_yaml)


def write_once(d: dict, path: Path, write, error: type[Exception] = ValueError) -> Path:
    """Write ``d`` to ``path`` with ``write``; an existing file is reused when identical, never overwritten otherwise.

    A different existing file raises ``error``, naming the ways out.
    """
    if not path.exists():
        return write(d, path)
    tmp = path.with_name(f".{path.stem}.tmp{path.suffix}")
    try:
        same = write(d, tmp).read_text() == path.read_text()
    finally:
        tmp.unlink(missing_ok=True)
    if not same:
        raise error(f"{path} exists with other content (edited by hand?); it is not overwritten. Delete it, use "
                    f"another --project, or train that file as it is: --cfg {path}")
    return path

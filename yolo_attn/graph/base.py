"""What a run trained, read from its checkpoint: attention layers, the base model under them, the initialisation.

``config_key(yaml_dict)`` drops every layer whose module is a registered attention module and re-indexes the
``from`` fields (a reference to an attention layer becomes a reference to its input, attention being a same-shape
map), so ``yolov5n-se-neck`` and plain ``yolov5n`` give the same signature, as do ``yolov8n`` with and without CBAM:
the comparison finds each config's baseline this way for any ultralytics detector and any placement.
"""

from __future__ import annotations

from yolo_attn.graph.rows import is_attention, model_rows, strip_attention

__all__ = ("attention_layers", "config_key", "init_label", "started_as", "START_KEY")

# Key of the provenance record our trainers put in a model's yaml dict on a fresh start (see ``started_as``).
START_KEY = "started_as"


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


def init_label(args: dict) -> str:
    """How a run was initialised, from its ``args.yaml``: ``scratch`` or ``fine-tuned from <weights path>``.

    ultralytics records ``--weights`` as ``pretrained: /path/x.pt`` (our train passes it so) and a ``.pt`` model as
    ``model: x.pt``; a yaml model with ``pretrained: True`` has no weights to load, so it trained from scratch.
    """
    pre, model = args.get("pretrained"), str(args.get("model", ""))
    if isinstance(pre, str) and pre not in ("True", "False", ""):
        return f"fine-tuned from {pre}"  # the full path: two different best.pt files are two initialisations
    if model.endswith(".pt"):
        return f"fine-tuned from {model}"
    return "scratch"


def started_as(args: dict, model_yaml: dict) -> dict:
    """The run's ``args`` with ``model``/``pretrained`` as the run was started, not as a resume rewrote them.

    ultralytics' resume rewrites ``args.yaml`` to ``model: <run>/weights/last.pt`` and ``resume: <same>``. yolo_attn's
    trainers record ``{"model", "pretrained"}`` of a fresh start in the model's yaml dict (``START_KEY``), which every
    checkpoint of the run carries, resumed or not; for a resumed run (``resume`` set in ``args``) that record wins. Without it (a run of ultralytics' own trainer) a
    resumed run's model is the checkpoint's own ``yaml_file`` (the yaml it was built from); ``pretrained`` survives a
    resume unchanged.
    """
    if not args.get("resume"):  # args.yaml of a run that was never resumed is what it was started as
        return dict(args)
    rec = model_yaml.get(START_KEY)
    if isinstance(rec, dict) and rec.get("model"):
        return {**args, **{k: rec[k] for k in ("model", "pretrained") if k in rec}}
    if model_yaml.get("yaml_file"):
        return {**args, "model": model_yaml["yaml_file"]}
    return dict(args)

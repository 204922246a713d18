"""Run records: how a run was started, written by yolo_attn's trainers and read back by the comparison of runs.

``START_KEY`` is the key of the provenance record (``{"model", "pretrained"}`` of a fresh start) that
``yolo_attn.engine.trainers.TransferMixin`` puts in a model's yaml dict, so every checkpoint of a run carries it;
``started_as`` reads it back for a resumed run, ``init_label`` names the initialisation (scratch or fine-tuned).
"""

from __future__ import annotations

__all__ = ("START_KEY", "init_label", "started_as")

# Key of the provenance record our trainers put in a model's yaml dict on a fresh start (see ``started_as``).
START_KEY = "started_as"


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

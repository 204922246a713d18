"""Training entry point: YOLOv5-style options on ultralytics' own trainer (``train_attn.py`` is a thin CLI on this).

``train(cfg="yolov5n-simam.yaml")`` trains on the embedded synthetic set and returns the run folders; each run is an
ordinary ultralytics run (``args.yaml``, ``results.csv``, plots, ``weights/best.pt`` and ``last.pt``).
"""

from __future__ import annotations

import glob
import os
from pathlib import Path

import yolo_attn  # noqa: F401  (registers the modules; also in DDP workers, which import this module)
from yolo_attn.engine.checkpoints import check_weights
from yolo_attn.engine.checks import check_batch, check_device, check_epochs, check_imgsz, run_dir
from yolo_attn.engine.configs import check_model_cfg, resolve_cfgs
from yolo_attn.data.lookup import resolve_data
from yolo_attn.errors import UsageError

from yolo_attn.engine.runguard import guard_run
from yolo_attn.engine.trainers import (
    AttnDetectionTrainer, AttnSegmentationTrainer, check_task, task_of,
)
from yolo_attn.graph.transfer import check_transfer
from yolo_attn.engine.anchor.setup import anchor_settings, trainer_for

__all__ = (
    "DEFAULT_EPOCHS", "DEFAULT_IMGSZ", "DEFAULT_BATCH", "DEFAULT_WORKERS", "DEMO_DEFAULTS", "YOLOV5_DEFAULTS",
    "AttnDetectionTrainer", "AttnSegmentationTrainer", "train", "train_one", "resolve_defaults", "run_matrix",
    "latest_last", "FINETUNE_DEFAULTS", "finetune_defaults", "with_protocol",
)

# Defaults tuned for the embedded demo set: yolov5n-simam reaches mAP50 >= 0.8 in < 10 min on 2 CPU cores.
# Workers: the fastest of 0/1/2 dataloader workers on the 2-core machine (measured, docs/MEASUREMENTS.md).
DEFAULT_EPOCHS = 15
DEFAULT_IMGSZ = 128
DEFAULT_BATCH = 16
DEFAULT_WORKERS = 0
DEMO_DEFAULTS = {"epochs": DEFAULT_EPOCHS, "imgsz": DEFAULT_IMGSZ, "batch": DEFAULT_BATCH, "workers": DEFAULT_WORKERS}
# Any other dataset: YOLOv5 train.py's defaults (workers capped at the CPU count, as ultralytics does).
YOLOV5_DEFAULTS = {"epochs": 100, "imgsz": 640, "batch": 16, "workers": 8}
# --weights without optimizer=...: the recipe that kept converged models' mAP50-95 in the fine-tune measurements
# (docs/MEASUREMENTS.md, "Measured: fine-tune recipes"). SGD lr0 0.01 (YOLOv5's hyp, the default before) lost up to 0.4;
# warmup_epochs 0 because ultralytics' warmup starts the bias learning rate at warmup_bias_lr 0.1.
FINETUNE_DEFAULTS = {"optimizer": "AdamW", "lr0": 0.0001, "warmup_epochs": 0}


def finetune_defaults(overrides: dict) -> tuple[dict, str]:
    """The fine-tune recipe for a ``--weights`` run: nothing when ``optimizer`` is given (the user's recipe), else
    ``FINETUNE_DEFAULTS`` for the keys not given; return them and their part of the ``defaults:`` line."""
    if "optimizer" in overrides:
        return {}, ""
    used = {k: v for k, v in FINETUNE_DEFAULTS.items() if k not in overrides}
    return used, ("--weights fine-tune " + ", ".join(f"{k}={v}" for k, v in used.items()) +
                  " (kept converged models' mAP50-95, docs/MEASUREMENTS.md; pass optimizer=... to choose your own)")


def latest_last(project: str) -> str:
    """Most recent ``*/weights/last.pt`` under ``project`` (for ``--resume`` without a path)."""
    found = glob.glob(str(Path(project) / "**" / "weights" / "last.pt"), recursive=True)
    if not found:
        raise UsageError(f"--resume: no */weights/last.pt under {Path(project).resolve()}; pass the path of a last.pt")
    return max(found, key=os.path.getmtime)


def _with_compile(model, compile_modules: bool):
    """Register the callback that ``torch.compile``s the attention modules of the trainer's own model (opt-in)."""
    if compile_modules:
        from yolo_attn.engine.compile import compile_attention_callback

        model.add_callback("on_pretrain_routine_end", compile_attention_callback)
    return model


def _read_weights(weights: str):
    """``--weights``: an ultralytics checkpoint dict, or a ``YOLOv5Checkpoint`` when YOLOv5's code saved the file."""
    from yolo_attn.checkpoint.yolov5 import is_yolov5_checkpoint
    from yolo_attn.graph.transfer.yolov5 import read_checkpoint_or_usage_error

    if is_yolov5_checkpoint(weights):
        return read_checkpoint_or_usage_error(weights, f"--weights {weights}")
    return check_weights(weights)


def train_one(cfg: str, data: str, *, project: str, name: str, weights: str | None = None,
              compile_modules: bool = False, yolov5_hyp: dict | None = None, protocol: str | None = None, **kwargs):
    """Train one model yaml with the yolo_attn trainer for its task (detect, segment); return its run folder (``Path``).

    ``weights``: checkpoint of the same base and scale whose base layers (and attention layers at the same base
    position) start the model, mapped across inserted attention rows by ``yolo_attn.load_weights``, which logs
    "transferred 100% of the base (N/N tensors); new: ...". ``compile_modules``: ``torch.compile`` the attention modules once the trainer has
    built its model (``--compile``). Other ``kwargs`` are ultralytics train settings (epochs, imgsz, batch, seed, ...).
    A run that fails before its first epoch completes leaves no folder behind (``yolo_attn.engine.runguard``).
    """
    from ultralytics import YOLO

    task = check_task(task_of(cfg), f"--cfg {cfg}")
    model = _with_compile(YOLO(cfg, task=task), compile_modules)
    trainer = trainer_for(task, model.model)
    if getattr(trainer, "takes_yolov5_hyp", False):  # YOLOv5's anchor head: its trainer (gains, AutoAnchor)
        from yolo_attn.engine.anchor.trainer import YOLOv5Settings

        model.add_callback("on_pretrain_routine_start", YOLOv5Settings(yolov5_hyp or {}))  # obj, anchor_t, ...
    kwargs = with_protocol(model, protocol, data, kwargs)
    if weights:
        kwargs["pretrained"] = str(Path(weights).resolve())  # the trainer's get_model -> yolo_attn.load_weights
    target = Path(project).resolve() / name
    keep = [target] if kwargs.get("exist_ok") and target.is_dir() else []  # an old folder the run reuses
    with guard_run(model, project, keep=keep):
        model.train(data=data, project=project, name=name, trainer=trainer, **kwargs)
    return Path(model.trainer.save_dir)


def with_protocol(model, protocol: str | None, data, kwargs: dict) -> dict:
    """``--protocol``: the validation settings added to the train ``kwargs`` (returned) and the callback that gives
    the trainer its validator and records the protocol in the run (``yolo_attn.engine.validators``)."""
    from yolo_attn.engine.validators import ProtocolCallback, check_protocol, protocol_settings

    protocol = check_protocol(protocol)
    fixed = protocol_settings(protocol, data, kwargs)
    settings = {k: kwargs.get(k) for k in ("iou", "conf", "max_det")} if not fixed else fixed
    model.add_callback("on_pretrain_routine_start", ProtocolCallback(protocol, settings))
    return {**kwargs, **fixed}


def _resume(last: str, device, workers, compile_modules: bool) -> Path:
    """``--resume last.pt``: continue that run in the folder the file lies in; refuse finished runs first.

    A run is resumed into ``<run>/weights/last.pt``'s ``<run>`` (a copied or moved folder too, never the folder the
    checkpoint was first written to); a failure before the first resumed epoch leaves that folder as it was.
    """
    from ultralytics import YOLO

    from yolo_attn.engine.finalise import is_unfinalised, planned_epochs

    if not Path(last).is_file():
        raise UsageError(f"--resume {last}: no such checkpoint")
    ckpt = check_weights(last)
    if ckpt.get("epoch", -1) < 0 or ckpt.get("optimizer") is None:  # ultralytics would start afresh on coco8
        raise UsageError(
            f"--resume {last}: this run finished (its optimizer state was stripped), nothing to resume. "
            f"To train further, start a new run from it: --weights {last}"
        )
    run = Path(last).resolve().parent.parent
    if is_unfinalised(ckpt):  # killed after the final save, before ultralytics stripped the optimizer
        best = run / "weights" / "best.pt"
        raise UsageError(
            f"--resume {last}: this run finished its {planned_epochs(ckpt)} epochs (it was stopped after the final "
            f"save, before the optimizer was stripped), nothing to resume. Its weights are complete: evaluate {best} "
            f"with val_attn.py, or train further from it with --weights {best}; to mark it finished run: python -m "
            f"yolo_attn.engine.finalise {run} (an ablation grid rerun does this itself)"
        )
    _check_resume_data(last, ckpt)
    task = check_task(task_of(ckpt), f"--resume {last}")
    trainer = trainer_for(task, ckpt)
    del ckpt
    model = _with_compile(YOLO(last, task=task), compile_modules)
    from yolo_attn.engine.validators import ProtocolCallback, run_protocol

    protocol = run_protocol(run)  # the protocol the run started with validates the rest of it
    if protocol != "ultralytics":
        model.add_callback("on_pretrain_routine_start", ProtocolCallback(protocol, None))  # file kept
    extra = {k: v for k, v in dict(device=device, workers=workers).items() if v is not None}
    if Path(last).resolve().parent.name == "weights":
        extra["save_dir"] = str(run)  # ultralytics would write into the save_dir recorded in the checkpoint
    with guard_run(model, run.parent, keep=[run]):
        model.train(resume=True, trainer=trainer, **extra)
    return Path(model.trainer.save_dir)


def _check_resume_data(last: str, ckpt: dict) -> None:
    """A resumed run reads its data set from the path its checkpoint recorded; a data set moved or deleted since is
    one ``UsageError`` here, not ultralytics' traceback after the trainer started."""
    data = (ckpt.get("train_args") or {}).get("data")
    if not data:
        return
    try:
        resolve_data(str(data))
    except UsageError as e:
        raise UsageError(
            f"--resume {last}: the run's data set {data} is gone or incomplete ({e}). Put it back where it was "
            f"(a resumed run reads the path its checkpoint recorded), or train on in a new run from the data where it "
            f"is now: --weights {last} --data NEW.yaml") from None


def _attn_cfgs(cfgs: list[str], attn, at, attn_args, project: str) -> list[str]:
    """``--attn/--at/--attn-args``: each base yaml with the module inserted, written to ``project/cfg/<stem>.yaml``."""
    from yolo_attn.graph.placement import at_label, generate_cfg, parse_at, parse_attn_args

    if not attn:
        if at is not None or attn_args:
            raise UsageError("--at/--attn-args need --attn, e.g. --attn SE --at neck")
        return cfgs
    shown = "backbone" if at is None else at if isinstance(at, str) else at_label(at)
    try:
        places = parse_at(at) if isinstance(at, str) else ["backbone"] if at is None else at
        return [str(generate_cfg(c, attn, places, parse_attn_args(attn_args), Path(project) / "cfg")) for c in cfgs]
    except (KeyError, ValueError) as e:
        raise UsageError(f"--attn {attn} --at {shown}: {e.args[0] if isinstance(e, KeyError) else e}") from None


def resolve_defaults(data: str | None, device: str | None = None, **given) -> tuple[dict, str]:
    """Fill the settings left None in ``given`` (epochs, imgsz, batch, workers) by data; return them and one line
    saying which defaults were used and why ("" when every setting was given).

    No ``data``: the embedded demo set's quick settings (``DEMO_DEFAULTS``); any dataset: YOLOv5 train.py's
    (``YOLOV5_DEFAULTS``), workers capped at the CPU cores per GPU as ultralytics' ``build_dataloader`` does, and 0
    when training on the CPU (ultralytics' own CPU choice). ``device`` None counts as a GPU when CUDA is available.
    """
    import torch

    demo = data is None
    base = dict(DEMO_DEFAULTS if demo else YOLOV5_DEFAULTS)
    cpu = str(device).lower() in {"cpu", "mps"} or (device is None and not torch.cuda.is_available())
    capped = ""
    if not demo and cpu:  # ultralytics trains with 0 workers on the CPU (measured fastest here too, docs/MEASUREMENTS.md)
        base["workers"], capped = 0, "; workers 0 on the CPU, as ultralytics does"
    elif not demo:
        gpus = len([s for s in str(device or "0").split(",") if s.strip().isdigit()])
        base["workers"] = min((os.cpu_count() or 1) // max(gpus, 1), base["workers"])
        if base["workers"] < YOLOV5_DEFAULTS["workers"]:
            capped = f"; workers {YOLOV5_DEFAULTS['workers']} capped at {base['workers']} by the CPU count"
    used = {k: v for k, v in base.items() if given.get(k) is None}
    out = {k: (base[k] if given.get(k) is None else given[k]) for k in base}
    if not used:
        return out, ""
    why = ("the embedded demo set's quick settings (no --data)" if demo else
           f"YOLOv5 train.py defaults for --data {Path(data).name}" + (capped if "workers" in used else ""))
    return out, "defaults: " + ", ".join(f"{k} {v}" for k, v in used.items()) + f" ({why})"


def train(
    cfg: str | None = None,
    data: str | None = None,
    *,
    weights: str | None = None,
    epochs: int | None = None,
    batch: int | None = None,
    imgsz: int | None = None,
    device: str | None = None,
    workers: int | None = None,
    project: str = "runs",
    name: str | None = None,
    seeds=(0,),
    resume: bool | str = False,
    exist_ok: bool = False,
    scale: str | None = None,
    compile_modules: bool = False,
    attn: str | None = None,
    at=None,
    attn_args=(),
    anchors=None,
    noautoanchor: bool = False,
    protocol: str | None = None,
    **overrides,
) -> list[Path]:
    """Train every config in ``cfg`` (comma list or ``all``) for every seed with the same settings.

    Returns the run folders. Runs are named ``{name or config stem}`` plus ``-seed{k}`` when several seeds are
    given (plus the config stem when several configs share a ``name``); ``project/name`` is used exactly, and an
    existing folder is never overwritten unless ``exist_ok`` (ultralytics increments the name instead).
    ``epochs``/``batch``/``imgsz``/``workers`` left None follow the data (``resolve_defaults``: the demo's quick
    settings without ``data``, YOLOv5's otherwise). ``resume``: True for the newest ``last.pt`` under ``project``,
    or a path to one. ``compile_modules``: ``torch.compile`` the attention modules in each run (``--compile``).
    The model's task (detect or segment, from its yaml) picks the trainer; other tasks raise ``UsageError``.
    ``weights``: start every run from this checkpoint (``yolo_attn.load_weights``); unless ``optimizer`` is given,
    such a fine-tune uses ``FINETUNE_DEFAULTS`` (measured, docs/MEASUREMENTS.md) instead of ultralytics' ``auto``.
    ``attn``/``at``/``attn_args``: insert module ``attn`` into each base ``cfg`` at placement(s) ``at`` (default
    ``"backbone"``; ``"neck"``, ``"6,8"``, ``["stages", 4]``) with its own args (``"8"`` or ``[8]``); the generated yaml
    is written to ``project/cfg/<base>-<module>-<at>.yaml`` and names the run. ``cfg`` defaults to
    ``yolov5n-simam.yaml`` without ``attn`` and is required with it. ``scale``: the scale of ``cfg="all"`` (default n),
    given to scale-less names (``yolov5.yaml`` -> ``yolov5s.yaml``); a ``cfg`` that says another scale is refused.
    ``anchors``: True (YOLOv5's default anchors), a list per level (pixels) or a count: YOLOv5-family configs get
    YOLOv5's anchor-based head (``project/cfg/<stem>-anchors.yaml``, which names the run); a YOLOv5-format yaml
    (``anchors:`` and ``Detect, [nc, anchors]``) is anchor-based without it. Anchor-based runs train with YOLOv5's
    hyp.scratch-low defaults (``yolo_attn.anchor.hyp``) and its YOLOv5-only settings (``obj``, ``anchor_t``, ...)
    as keywords; ``noautoanchor`` skips AutoAnchor. ``protocol``: the validation protocol of every epoch and the final
    validation, ``"ultralytics"`` (default) or ``"yolov5"`` (``yolo_attn.engine.validators``; recorded in the run).
    """
    from yolo_attn.engine.validators import check_protocol

    device = check_device(device)
    protocol = check_protocol(protocol)
    if resume:
        return [_resume(latest_last(project) if resume is True else resume, device, workers, compile_modules)]
    settings, note = resolve_defaults(data, device, epochs=epochs, imgsz=imgsz, batch=batch, workers=workers)
    check_epochs(settings["epochs"])
    check_batch(settings["batch"])
    cfgs = _base_cfgs(cfg, scale, attn)
    check_imgsz(settings["imgsz"])
    cfgs = _placed_cfgs(cfgs, attn, at, attn_args, run_dir(project, "")[0])
    cfgs, per_cfg, anchor_note = anchor_settings(cfgs, anchors, noautoanchor, overrides, run_dir(project, "")[0])
    for c in cfgs:
        check_model_cfg(c)
    data = resolve_data(data)
    if weights:
        note = _check_fine_tune(weights, cfgs, overrides, note, per_cfg)
    for line in (note, anchor_note):
        if line:
            print(line)
    project, _ = run_dir(project, "")
    return [
        train_one(c, data, project=project, name=run_name, weights=weights, device=device, seed=seed,
                  exist_ok=exist_ok, compile_modules=compile_modules, protocol=protocol, **settings,
                  **{**overrides, **per_cfg[c]})
        for c, seed, run_name in run_matrix(cfgs, list(seeds) or [0], name)
    ]


def _base_cfgs(cfg: str | None, scale: str | None, attn: str | None) -> list[str]:
    """``--cfg`` (default ``yolov5n-simam.yaml``; required with ``--attn``, which refuses ``all``) -> model yamls."""
    if cfg is None:
        if attn:
            raise UsageError(f"--attn {attn} needs a base model to insert it into: add --cfg, e.g. --cfg yolov5n.yaml")
        cfg = f"yolov5{scale or 'n'}-simam.yaml"
    if attn and cfg.strip().lower() == "all":
        raise UsageError(f"--cfg all --attn {attn}: give the base model(s) to insert {attn} into, e.g. --cfg yolov5n.yaml")
    return resolve_cfgs(cfg, scale)


def _placed_cfgs(cfgs: list[str], attn, at, attn_args, project: str) -> list[str]:
    """The yamls to train: ``--attn`` inserted (``_attn_cfgs``), each built once and its task checked."""
    cfgs = _attn_cfgs(cfgs, attn, at, attn_args, project)
    for c in cfgs:
        check_model_cfg(c)
        check_task(task_of(c), f"--cfg {c}")
    return cfgs


def _check_fine_tune(weights: str, cfgs: list[str], overrides: dict, note: str, per_cfg: dict) -> str:
    """``--weights``: refuse another base or scale before any run folder exists; the fine-tune recipe
    (``FINETUNE_DEFAULTS``) for the anchor-free configs unless ``optimizer`` is given (anchor-based ones keep YOLOv5's
    hyp from ``anchor_settings``), added to the ``defaults:`` line, which is returned."""
    ckpt = _read_weights(weights)
    for c in cfgs:
        check_transfer(c, ckpt, label=f"--weights {weights}")
    recipe, ft_note = finetune_defaults(overrides)  # `auto` (AdamW 0.00125) and SGD 0.01 wreck converged weights
    plain = [c for c in cfgs if not per_cfg.get(c)]
    if len(plain) < len(cfgs) and "warmup_epochs" not in overrides:  # anchor-based: YOLOv5's own fine-tune start
        anchor = ("--weights fine-tune of the anchor-based configs: YOLOv5's hyp.scratch-low with YOLOv5's warm-up, "
                  "max(3 epochs, 100 iterations), as YOLOv5's train.py --weights")
        note = (note + "; " + anchor) if note else "defaults: " + anchor
    if not recipe or not plain:
        return note
    for c in plain:
        per_cfg[c] = dict(recipe)
    if len(plain) < len(cfgs):
        ft_note += " for the anchor-free configs"
    return (note + "; " + ft_note) if note else "defaults: " + ft_note


def run_matrix(cfgs: list[str], seeds: list[int], name: str | None) -> list[tuple[str, int, str]]:
    """``(cfg, seed, run name)`` per run: ``name`` or the config stem, ``-<stem>`` when several configs share a
    ``name``, ``-seed<k>`` when several seeds are given."""
    runs = []
    for c in cfgs:
        stem = Path(c).stem
        for seed in seeds:
            run_name = name or stem
            if name and len(cfgs) > 1:
                run_name = f"{name}-{stem}"
            if len(seeds) > 1:
                run_name += f"-seed{seed}"
            runs.append((c, seed, run_name))
    return runs

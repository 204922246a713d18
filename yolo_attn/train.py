"""Training entry point: YOLOv5-style options on ultralytics' own trainer (``train_attn.py`` is a thin CLI on this).

``train(cfg="yolov5n-simam.yaml")`` trains on the embedded synthetic set and returns the run folders; each run is an
ordinary ultralytics run (``args.yaml``, ``results.csv``, plots, ``weights/best.pt`` and ``last.pt``).
"""

from __future__ import annotations

import glob
import os
from pathlib import Path

from ultralytics.models.yolo.detect import DetectionTrainer
from ultralytics.utils import LOGGER

import yolo_attn  # noqa: F401  (registers the modules; also in DDP workers, which import this module)
from yolo_attn.checks import (
    UsageError, check_device, check_imgsz, check_model_cfg, check_weights, resolve_cfgs, resolve_data, run_dir,
)
from yolo_attn.transfer import TransferMixin, check_transfer

__all__ = (
    "DEFAULT_EPOCHS", "DEFAULT_IMGSZ", "DEFAULT_BATCH", "AttnDetectionTrainer", "train", "train_one", "use_local_fonts",
    "latest_last",
)

# Defaults tuned for the embedded demo set: yolov5n-simam reaches mAP50 >= 0.8 in < 10 min on 2 CPU cores.
DEFAULT_EPOCHS = 15
DEFAULT_IMGSZ = 128
DEFAULT_BATCH = 16


def use_local_fonts() -> None:
    """Offline, give ultralytics' plot labels matplotlib's bundled DejaVuSans instead of trying to fetch Arial.

    ``ultralytics.utils.checks.check_font`` downloads ``Arial.ttf`` when it is not in the config dir; with
    ``YOLO_OFFLINE=1`` that attempt fails and PIL's bitmap default font is used. This skips the network attempt and
    keeps readable, scalable labels. Online, nothing changes.
    """
    import matplotlib
    import ultralytics.utils.plotting as plotting
    from ultralytics.utils import ONLINE, USER_CONFIG_DIR

    if ONLINE or getattr(plotting.check_font, "_yolo_attn", False):
        return
    fallback = Path(matplotlib.get_data_path()) / "fonts" / "ttf" / "DejaVuSans.ttf"
    original = plotting.check_font

    def check_font(font="Arial.ttf"):
        local = USER_CONFIG_DIR / Path(font).name
        return local if local.exists() else (fallback if fallback.exists() else original(font))

    check_font._yolo_attn = True
    plotting.check_font = check_font


class AttnDetectionTrainer(TransferMixin, DetectionTrainer):
    """ultralytics' ``DetectionTrainer``, importable from the yolo_attn package, for multi-GPU (DDP) runs.

    ``TransferMixin`` loads ``pretrained=`` weights (``--weights``) by base layer (``yolo_attn.transfer``) instead of
    ultralytics' index matching, so a plain checkpoint fully starts a model with inserted attention rows.

    For ``--device 0,1,...`` ultralytics pickles the trainer class (by reference) and the model, which for a yaml
    config is only its file name, into a state file that fresh worker processes load. Unpickling this class
    imports ``yolo_attn`` there, which registers the attention modules and the config lookup before the worker
    builds ``yolov5s-ema.yaml``; with ultralytics' own class the workers would not know them.
    """

    def __init__(self, *args, **kwargs):
        use_local_fonts()
        super().__init__(*args, **kwargs)


def latest_last(project: str) -> str:
    """Most recent ``*/weights/last.pt`` under ``project`` (for ``--resume`` without a path)."""
    found = glob.glob(str(Path(project) / "**" / "weights" / "last.pt"), recursive=True)
    if not found:
        raise UsageError(f"--resume: no */weights/last.pt under {Path(project).resolve()}; pass the path of a last.pt")
    return max(found, key=os.path.getmtime)


def _with_compile(model, compile_modules: bool):
    """Register the callback that ``torch.compile``s the attention modules of the trainer's own model (opt-in)."""
    if compile_modules:
        from yolo_attn.compile import compile_attention_callback

        model.add_callback("on_pretrain_routine_end", compile_attention_callback)
    return model


def train_one(cfg: str, data: str, *, project: str, name: str, weights: str | None = None,
              compile_modules: bool = False, **kwargs):
    """Train one model yaml with ultralytics' ``DetectionTrainer``; return its run folder (``Path``).

    ``weights``: checkpoint of the same base and scale whose base layers (and attention layers at the same base
    position) start the model, mapped across inserted attention rows by ``yolo_attn.load_weights``, which logs
    "transferred 100% of the base (N/N tensors); new: ...". ``compile_modules``: ``torch.compile`` the attention modules once the trainer has
    built its model (``--compile``). Other ``kwargs`` are ultralytics train settings (epochs, imgsz, batch, seed, ...).
    """
    from ultralytics import YOLO

    model = _with_compile(YOLO(cfg), compile_modules)
    if weights:
        kwargs["pretrained"] = str(Path(weights).resolve())  # AttnDetectionTrainer.get_model -> load_weights
    model.train(data=data, project=project, name=name, trainer=AttnDetectionTrainer, **kwargs)
    return Path(model.trainer.save_dir)


def _attn_cfgs(cfgs: list[str], attn, at, attn_args, project: str) -> list[str]:
    """``--attn/--at/--attn-args``: each base yaml with the module inserted, written to ``project/cfg/<stem>.yaml``."""
    from yolo_attn.placement import at_label, generate_cfg, parse_at, parse_attn_args

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


def train(
    cfg: str | None = None,
    data: str | None = None,
    *,
    weights: str | None = None,
    epochs: int = DEFAULT_EPOCHS,
    batch: int = DEFAULT_BATCH,
    imgsz: int = DEFAULT_IMGSZ,
    device: str | None = None,
    workers: int = 0,
    project: str = "runs",
    name: str | None = None,
    seeds=(0,),
    resume: bool | str = False,
    exist_ok: bool = False,
    scale: str = "n",
    compile_modules: bool = False,
    attn: str | None = None,
    at=None,
    attn_args=(),
    **overrides,
) -> list[Path]:
    """Train every config in ``cfg`` (comma list or ``all``) for every seed with the same settings.

    Returns the run folders. Runs are named ``{name or config stem}`` plus ``-seed{k}`` when several seeds are
    given (plus the config stem when several configs share a ``name``); ``project/name`` is used exactly, and an
    existing folder is never overwritten unless ``exist_ok`` (ultralytics increments the name instead).
    ``resume``: True for the newest ``last.pt`` under ``project``, or a path to one.
    ``compile_modules``: ``torch.compile`` the attention modules in each run (``--compile``).
    ``weights``: start every run from this checkpoint (``yolo_attn.load_weights``); unless ``optimizer`` is given,
    such a fine-tune uses ``optimizer="SGD"`` (YOLOv5's default) instead of ultralytics' ``auto``.
    ``attn``/``at``/``attn_args``: insert module ``attn`` into each base ``cfg`` at placement(s) ``at`` (default
    ``"backbone"``; ``"neck"``, ``"6,8"``, ``["stages", 4]``) with its own args (``"8"`` or ``[8]``); the generated yaml
    is written to ``project/cfg/<base>-<module>-<at>.yaml`` and names the run. ``cfg`` defaults to
    ``yolov5n-simam.yaml`` without ``attn`` and is required with it.
    """
    from ultralytics import YOLO

    device = check_device(device)
    if resume:
        last = latest_last(project) if resume is True else resume
        if not Path(last).is_file():
            raise UsageError(f"--resume {last}: no such checkpoint")
        ckpt = check_weights(last)
        if ckpt.get("epoch", -1) < 0 or ckpt.get("optimizer") is None:  # ultralytics would start afresh on coco8
            raise UsageError(
                f"--resume {last}: this run finished (its optimizer state was stripped), nothing to resume. "
                f"To train further, start a new run from it: --weights {last}"
            )
        model = _with_compile(YOLO(last), compile_modules)
        extra = {k: v for k, v in dict(device=device, workers=workers).items() if v is not None}
        model.train(resume=True, trainer=AttnDetectionTrainer, **extra)
        return [Path(model.trainer.save_dir)]

    if cfg is None:
        if attn:
            raise UsageError(f"--attn {attn} needs a base model to insert it into: add --cfg, e.g. --cfg yolov5n.yaml")
        cfg = "yolov5n-simam.yaml"
    if attn and cfg.strip().lower() == "all":
        raise UsageError(f"--cfg all --attn {attn}: give the base model(s) to insert {attn} into, e.g. --cfg yolov5n.yaml")
    cfgs = resolve_cfgs(cfg, scale)
    check_imgsz(imgsz)
    cfgs = _attn_cfgs(cfgs, attn, at, attn_args, run_dir(project, "", exist_ok)[0])
    for c in cfgs:
        check_model_cfg(c)
    data = resolve_data(data)
    if weights:
        ckpt = check_weights(weights)
        for c in cfgs:  # another base or scale: refuse before any run folder is made
            check_transfer(c, ckpt, label=f"--weights {weights}")
        if "optimizer" not in overrides:  # `auto` picks AdamW 0.00125 for short runs: wrecks converged weights
            overrides["optimizer"] = "SGD"
            LOGGER.info("--weights: fine-tuning with optimizer=SGD (YOLOv5's default; ultralytics' optimizer=auto "
                        "picks AdamW for short runs, which upsets converged weights); pass optimizer=auto to override")
    seeds = list(seeds) or [0]
    project, _ = run_dir(project, "", exist_ok)
    runs = []
    for c in cfgs:
        stem = Path(c).stem
        for seed in seeds:
            run_name = name or stem
            if name and len(cfgs) > 1:
                run_name = f"{name}-{stem}"
            if len(seeds) > 1:
                run_name += f"-seed{seed}"
            runs.append(
                train_one(
                    c, data, project=project, name=run_name, weights=weights, epochs=epochs, batch=batch, imgsz=imgsz,
                    device=device, workers=workers, seed=seed, exist_ok=exist_ok, compile_modules=compile_modules,
                    **overrides,
                )
            )
    return runs

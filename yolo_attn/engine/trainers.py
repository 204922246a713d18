"""Importable ultralytics trainers and validators per task, for the scripts, the ``yolo-attn`` CLI and multi-GPU runs.

For ``--device 0,1,...`` ultralytics pickles the trainer class (by reference) and the model, which for a yaml config
is only its file name, into a state file that fresh worker processes load. Unpickling a class of this module imports
``yolo_attn`` there, which registers the attention modules and the config lookup before the worker builds
``yolov5s-ema.yaml``; with ultralytics' own classes the workers would not know them.

Tasks: ``detect`` and ``segment`` (``TRAINERS`` / ``VALIDATORS``); ``task_of`` reads a yaml's or checkpoint's task
with ultralytics' ``guess_model_task`` and ``check_task`` rejects the others before any run folder exists.
"""

from __future__ import annotations

from pathlib import Path

from ultralytics.cfg import DEFAULT_CFG
from ultralytics.models.yolo.detect import DetectionTrainer, DetectionValidator
from ultralytics.models.yolo.segment import SegmentationTrainer, SegmentationValidator

import yolo_attn  # noqa: F401  (registers the modules; also in DDP workers, which import this module)
from yolo_attn.engine.cpu_threads import use_all_cores
from yolo_attn.graph.transfer import TransferMixin

__all__ = (
    "AttnDetectionTrainer", "AttnSegmentationTrainer", "TRAINERS", "VALIDATORS", "SUPPORTED_TASKS", "task_of",
    "check_task", "use_local_fonts",
)


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


class _AttnTrainerMixin:
    """Shared by the task trainers: local fonts offline, ``workers`` honoured on CPU when asked for explicitly, and
    every core used on the CPU with workers 0 (``yolo_attn.engine.cpu_threads``).

    ultralytics' ``BaseTrainer`` sets ``workers=0`` for every CPU run, so ``--workers 2`` on a CPU would be ignored
    silently; an explicit ``workers`` override wins here (the demo's measured default is 0, docs/PIPELINE.md).
    """

    def __init__(self, cfg=DEFAULT_CFG, overrides=None, _callbacks=None):
        use_local_fonts()
        workers = (overrides or {}).get("workers")
        super().__init__(cfg, overrides, _callbacks)
        if workers is not None and self.device.type == "cpu":
            self.args.workers = int(workers)
        use_all_cores(self)  # CPU with workers 0: ultralytics' cpu_count - 1 threads would leave a core idle


class AttnDetectionTrainer(TransferMixin, _AttnTrainerMixin, DetectionTrainer):
    """ultralytics' ``DetectionTrainer``, importable from the yolo_attn package (see the module docstring).

    ``TransferMixin`` loads ``pretrained=`` weights (``--weights``) by base layer (``yolo_attn.graph.transfer``) instead of
    ultralytics' index matching, so a plain checkpoint fully starts a model with inserted attention rows.
    """


class AttnSegmentationTrainer(TransferMixin, _AttnTrainerMixin, SegmentationTrainer):
    """ultralytics' ``SegmentationTrainer``, importable from the yolo_attn package (see the module docstring);
    ``--weights`` through ``yolo_attn.load_weights`` as for detection."""


TRAINERS = {"detect": AttnDetectionTrainer, "segment": AttnSegmentationTrainer}
VALIDATORS = {"detect": DetectionValidator, "segment": SegmentationValidator}
SUPPORTED_TASKS = tuple(TRAINERS)


def task_of(model) -> str:
    """Task (``detect``, ``segment``, ``pose``, ``obb``, ``classify``, ...) of a model yaml path/name, a loaded
    checkpoint dict or an ``nn.Module``, by ultralytics' ``guess_model_task`` (the head of the last layer)."""
    from ultralytics.nn.tasks import guess_model_task, yaml_model_load

    if isinstance(model, dict) and ("model" in model or "ema" in model):  # a checkpoint
        model = model.get("ema") or model.get("model")
    elif isinstance(model, (str, Path)) and str(model).endswith((".yaml", ".yml")):
        model = yaml_model_load(model)
    return guess_model_task(model)


def check_task(task: str, what: str) -> str:
    """Return ``task`` if yolo_attn's scripts support it, else raise ``UsageError`` naming ``what`` (flag and file)."""
    from yolo_attn.engine.checks import UsageError

    if task not in TRAINERS:
        raise UsageError(
            f"{what}: a '{task}' model; train_attn.py/val_attn.py support {' and '.join(SUPPORTED_TASKS)} models. "
            f"For {task}, use the yolo-attn CLI (ultralytics' yolo with the plugin loaded): yolo-attn {task} train "
            f"model=... data=..."
        )
    return task

"""Importable ultralytics trainers and validators per task, for the scripts, the ``yolo-attn`` CLI and multi-GPU runs.

For ``--device 0,1,...`` ultralytics pickles the trainer class (by reference) and the model, which for a yaml config
is only its file name, into a state file that fresh worker processes load. Unpickling a class of this module imports
``yolo_attn`` there, which registers the attention modules and the config lookup before the worker builds
``yolov5s-ema.yaml``; with ultralytics' own classes the workers would not know them.

Tasks: ``detect`` and ``segment`` (``TRAINERS`` here, ``yolo_attn.engine.validators.VALIDATORS``); ``task_of`` reads a yaml's or checkpoint's task
with ultralytics' ``guess_model_task`` and ``check_task`` rejects the others before any run folder exists.
"""

from __future__ import annotations

import os
from pathlib import Path

from ultralytics.cfg import DEFAULT_CFG
from ultralytics.models.yolo.detect import DetectionTrainer
from ultralytics.models.yolo.segment import SegmentationTrainer
from ultralytics.utils import LOGGER, RANK
from ultralytics.utils.torch_utils import unwrap_model

import yolo_attn  # noqa: F401  (registers the modules; also in DDP workers, which import this module)
from yolo_attn.plugin.threads import use_all_cores
from yolo_attn.graph.records import START_KEY
from yolo_attn.graph.transfer import is_yolov5_weights, load_weights
from yolo_attn.plugin.patches import drop_raytune_outside_trials, honour_cpu_workers, use_local_fonts

__all__ = (
    "AttnDetectionTrainer", "AttnSegmentationTrainer", "TRAINERS", "SUPPORTED_TASKS", "task_of",
    "check_task", "TransferMixin",
)


class TransferMixin:
    """Trainer mixin: ``get_model`` builds the model and loads ``weights`` with ``load_weights`` (base-index mapping)

    instead of ultralytics' index-matching ``model.load``. ultralytics' trainer passes both ``pretrained=`` weights and
    a resumed ``last.pt`` through ``get_model``; a resumed checkpoint has the model's own layout, so it loads 1:1.
    """

    def setup_model(self):
        """A ``pretrained=`` checkpoint saved by the YOLOv5 repository: ultralytics' ``load_checkpoint`` refuses it,
        so the model is built without it and ``get_model`` loads it through ``load_weights``."""
        given = getattr(self.args, "pretrained", None)
        if not (isinstance(given, (str, Path)) and not self.resume and is_yolov5_weights(given)):
            return super().setup_model()
        self._yolov5_weights, self.args.pretrained = given, True
        try:
            return super().setup_model()
        finally:
            self.args.pretrained, self._yolov5_weights = given, None

    def get_model(self, cfg=None, weights=None, verbose=True):
        model = super().get_model(cfg=cfg, weights=None, verbose=verbose)
        if not self.args.resume and isinstance(getattr(model, "yaml", None), dict):
            # provenance: a resume rewrites args.yaml, the checkpoint's model yaml keeps what the run started as
            model.yaml[START_KEY] = {"model": str(self.args.model), "pretrained": self.args.pretrained}
        weights = weights or getattr(self, "_yolov5_weights", None)
        if weights:
            given = getattr(self.args, "pretrained", None)
            label = f"--weights {given}" if isinstance(given, (str, Path)) and not self.args.resume else None
            self.transfer_report = load_weights(model, weights, verbose=verbose, label=label)
        return model

    def set_class_weights(self):
        """After the dataloaders, before the EMA copy: when ``--weights`` left attention layers untrained, re-estimate
        the BatchNorm statistics they make stale (``graph/transfer/recalibrate.py``) on training batches, unless
        ``YOLO_ATTN_BN_RECALIBRATE=0``."""
        super().set_class_weights()
        new = (getattr(self, "transfer_report", None) or {}).get("new_layer_indices")
        if not new or self.resume or os.environ.get("YOLO_ATTN_BN_RECALIBRATE", "1") == "0":
            return
        from yolo_attn.graph.transfer.recalibrate import recalibrate_bn

        model = unwrap_model(self.model)
        images = (self.preprocess_batch(batch)["img"] for batch in self.train_loader)
        done = recalibrate_bn(model, new, images)
        if done["bn"]:
            LOGGER.info(f"BatchNorm statistics re-estimated on {done['batches']} training batches for the "
                        f"{done['bn']} BatchNorm layers fed by the new attention layer{'s' * (len(new) != 1)} "
                        f"{', '.join(map(str, new))} (layers {done['layers'][0]}-{done['layers'][-1]}); weights "
                        "unchanged (YOLO_ATTN_BN_RECALIBRATE=0 turns this off)")


def _per_class_at_final_eval(trainer) -> None:
    if getattr(trainer, "_in_final_eval", False):
        trainer._write_per_class()


class _AttnTrainerMixin:
    """Shared by the task trainers: local fonts offline, ``workers`` honoured on CPU when asked for explicitly, and
    every core used on the CPU with workers 0 (``yolo_attn.plugin.threads``).

    The first two patches live in ``yolo_attn.plugin.patches`` (``use_local_fonts``, ``honour_cpu_workers``).
    """

    def __init__(self, cfg=DEFAULT_CFG, overrides=None, _callbacks=None):
        use_local_fonts()
        super().__init__(cfg, overrides, _callbacks)
        honour_cpu_workers(self, (overrides or {}).get("workers"))
        use_all_cores(self)  # CPU with workers 0: ultralytics' cpu_count - 1 threads would leave a core idle
        drop_raytune_outside_trials(self.callbacks)
        # first of the final validation's on_fit_epoch_end callbacks: in a Tune search, ultralytics' Ray Tune report
        # there can be the one at which the scheduler stops the trial, and nothing after it runs
        self.callbacks["on_fit_epoch_end"].insert(0, _per_class_at_final_eval)

    def final_eval(self):
        """ultralytics' final validation of ``best.pt``, its per-class AP into ``per_class.json`` (rank 0 only)
        from the first callback after that validation (``_per_class_at_final_eval``)."""
        self._in_final_eval = True
        try:
            super().final_eval()
        finally:
            self._in_final_eval = False

    def _write_per_class(self):
        metrics = getattr(getattr(self, "validator", None), "metrics", None)
        if RANK in {-1, 0} and self.best.exists() and getattr(metrics, "box", None) is not None:
            from yolo_attn.eval.per_class import write_per_class

            write_per_class(self.save_dir, metrics, self.validator.names)

    def get_validator(self):
        """ultralytics' validator, or ``YOLOv5Validator`` under ``--protocol yolov5`` (``engine/validators.py``)."""
        validator = super().get_validator()
        if getattr(self, "validation_protocol", "ultralytics") == "yolov5":
            from yolo_attn.engine.validators import YOLOv5Validator

            validator = YOLOv5Validator(validator.dataloader, save_dir=validator.save_dir, args=validator.args,
                                        _callbacks=validator.callbacks)
        return validator


class AttnDetectionTrainer(TransferMixin, _AttnTrainerMixin, DetectionTrainer):
    """ultralytics' ``DetectionTrainer``, importable from the yolo_attn package (see the module docstring).

    ``TransferMixin`` loads ``pretrained=`` weights (``--weights``) by base layer (``yolo_attn.load_weights``) instead
    of ultralytics' index matching, so a plain checkpoint fully starts a model with inserted attention rows.
    """


class AttnSegmentationTrainer(TransferMixin, _AttnTrainerMixin, SegmentationTrainer):
    """ultralytics' ``SegmentationTrainer``, importable from the yolo_attn package (see the module docstring);
    ``--weights`` through ``yolo_attn.load_weights`` as for detection."""


TRAINERS = {"detect": AttnDetectionTrainer, "segment": AttnSegmentationTrainer}
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
    from yolo_attn.errors import UsageError

    if task not in TRAINERS:
        raise UsageError(
            f"{what}: a '{task}' model; train_attn.py/val_attn.py support {' and '.join(SUPPORTED_TASKS)} models. "
            f"For {task}, use the yolo-attn CLI (ultralytics' yolo with the plugin loaded): yolo-attn {task} train "
            f"model=... data=..."
        )
    return task

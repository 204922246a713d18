"""``AnchorDetectionTrainer``: yolo_attn's detection trainer for the anchor-based YOLOv5 head.

ultralytics' trainer builds the model from the yaml (an ``AnchorDetectionModel``, see ``yolo_attn.plugin.anchor_rows``) and
reads the loss items' names from the loss (``box_loss obj_loss cls_loss``). This adds what YOLOv5's train.py does
around it: the loss gains scaled by levels, classes and image size (``model.hyp``), and AutoAnchor on the training
labels before the EMA copy is made (skipped on resume or with ``noautoanchor: true`` in the model's ``hyp``).
"""

from __future__ import annotations

from ultralytics.utils import LOGGER
from ultralytics.utils.torch_utils import unwrap_model

from yolo_attn.anchor.autoanchor import check_anchors, dataset_shapes_labels, pixel_anchors
from yolo_attn.anchor.head import AnchorDetect
from yolo_attn.anchor.hyp import loss_hyp
from yolo_attn.engine.trainers import AttnDetectionTrainer

__all__ = ("AnchorDetectionTrainer", "YOLOv5Settings", "YOLOV5_MIN_WARMUP")

YOLOV5_MIN_WARMUP = 100  # train.py: nw = max(round(hyp["warmup_epochs"] * nb), 100)


class YOLOv5Settings:
    """A ``on_pretrain_routine_start`` callback handing the YOLOv5-only settings (``obj``, ``anchor_t``,
    ``noautoanchor`` ...; not ultralytics arguments) to the trainer, whose ``get_model`` puts them into the model's
    ``yaml["hyp"]`` (and so into the checkpoint, for resume)."""

    def __init__(self, hyp: dict):
        self.hyp = dict(hyp)

    def __call__(self, trainer):
        trainer.yolov5_hyp = dict(self.hyp)


class AnchorDetectionTrainer(AttnDetectionTrainer):
    """``AttnDetectionTrainer`` plus YOLOv5's loss gains and AutoAnchor (module docstring)."""

    takes_yolov5_hyp = True  # train_one hands it the YOLOv5-only settings (``YOLOv5Settings``)

    def _head(self):
        head = unwrap_model(self.model).model[-1]
        return head if isinstance(head, AnchorDetect) else None

    def get_model(self, cfg=None, weights=None, verbose=True):
        model = super().get_model(cfg=cfg, weights=weights, verbose=verbose)
        given = getattr(self, "yolov5_hyp", None)
        if given and isinstance(model.model[-1], AnchorDetect):
            model.yaml["hyp"] = {**(model.yaml.get("hyp") or {}), **given}
        return model

    def _get_warmup_iterations(self, num_batches):
        """YOLOv5 train.py's warm-up: ``max(round(warmup_epochs * nb), 100)`` iterations, never capped at
        ``epochs - 1`` as ultralytics' is (a 1-epoch fine-tune from YOLOv5 weights would start at full lr0);
        ``warmup_epochs=0`` still means none."""
        return max(round(self.args.warmup_epochs * num_batches), YOLOV5_MIN_WARMUP) if self.args.warmup_epochs > 0 else 0

    def set_model_attributes(self):
        super().set_model_attributes()
        head = self._head()
        if head is not None:
            extra = dict(unwrap_model(self.model).yaml.get("hyp") or {})
            extra.pop("noautoanchor", None)
            imgsz = self.args.imgsz if isinstance(self.args.imgsz, int) else max(self.args.imgsz)
            self.model.hyp = loss_hyp(head.nl, head.nc, imgsz, box=self.args.box, cls=self.args.cls, extra=extra)

    def set_class_weights(self):
        """After the dataloaders, before the EMA copy (ultralytics' order): AutoAnchor, as YOLOv5's train.py runs it."""
        super().set_class_weights()
        head, model = self._head(), unwrap_model(self.model)
        if head is None or self.resume:
            return
        hyp = model.yaml.get("hyp") or {}
        if hyp.get("noautoanchor"):
            LOGGER.info("AutoAnchor: skipped (--noautoanchor)")
            return
        shapes, labels = dataset_shapes_labels(self.train_loader.dataset)
        imgsz = self.args.imgsz if isinstance(self.args.imgsz, int) else max(self.args.imgsz)
        report = check_anchors(head, shapes, labels, thr=model.hyp["anchor_t"], imgsz=imgsz)
        if report["replaced"]:
            model.yaml["anchors"] = pixel_anchors(head)  # a model rebuilt from its yaml (checkpoint) gets them too
        head.grid = [g[:0] for g in head.grid]  # anchors changed: rebuild the cached decode grids

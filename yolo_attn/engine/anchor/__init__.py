"""Training YOLOv5's anchor-based head: ``setup.py`` (which configs get it, their yaml, hyp.scratch-low defaults, the
trainer of every run: ``trainer_for``) and ``trainer.py`` (``AnchorDetectionTrainer``: YOLOv5's loss gains, AutoAnchor).

The head, model class and loss themselves live in ``yolo_attn.anchor`` (class paths pickled in checkpoints)."""

"""``yolo-attn``: ultralytics' ``yolo`` command line with the yolo_attn plugin loaded.

Every mode and argument of ``yolo`` works the same (``yolo-attn train|val|predict|export|track|benchmark ...``,
``yolo-attn segment train ...``, ``yolo-attn help|settings|cfg``); in addition

* the attention modules are registered and the shipped configs are found by name, with the scale letter:
  ``yolo-attn train model=yolov5n-se.yaml data=coco8.yaml epochs=3``;
* detection and segmentation training uses yolo_attn's importable trainers (``yolo_attn.engine.trainers``), so multi-GPU
  (DDP) worker processes, which unpickle the trainer class, import yolo_attn and know the modules too;
* offline (``YOLO_OFFLINE=1``) plots use a local font instead of trying to download Arial.

Run as ``yolo-attn ...`` (installed console script) or ``python -m yolo_attn.cli.yolo ...``.
"""

from __future__ import annotations

import sys

__all__ = ("main", "use_attn_trainers")


def use_attn_trainers() -> None:
    """Make ``YOLO(...).train()`` without a ``trainer=`` pick yolo_attn's trainer for detect and segment models.

    ultralytics picks the trainer class in ``Model._smart_load("trainer")`` from the model's task map; this wraps that
    one lookup (idempotent). Other tasks and every other lookup (validator, predictor, model) are unchanged.
    """
    from ultralytics.engine.model import Model

    from yolo_attn.engine.trainers import TRAINERS

    original = Model._smart_load
    if getattr(original, "_yolo_attn", False):
        return

    def _smart_load(self, key: str):
        if key == "trainer" and self.task in TRAINERS:
            return TRAINERS[self.task]
        return original(self, key)

    _smart_load._yolo_attn = True
    Model._smart_load = _smart_load


def main(argv: list[str] | None = None) -> int:
    """Run ultralytics' ``entrypoint`` on ``argv`` (default ``sys.argv[1:]``) with the plugin loaded."""
    import yolo_attn  # noqa: F401  (registers the modules and the config lookup)
    from ultralytics.cfg import entrypoint

    from yolo_attn.engine.trainers import use_local_fonts

    use_attn_trainers()
    use_local_fonts()
    if argv is not None:
        sys.argv[1:] = argv  # in place: ultralytics.cfg.ARGV is this same list, read by entrypoint
    entrypoint()
    return 0


if __name__ == "__main__":
    sys.exit(main())

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

__all__ = ("main",)


def main(argv: list[str] | None = None) -> int:
    """Run ultralytics' ``entrypoint`` on ``argv`` (default ``sys.argv[1:]``) with the plugin loaded."""
    import yolo_attn  # noqa: F401  (registers the modules and the config lookup)
    from ultralytics.cfg import entrypoint

    from yolo_attn.engine.trainers import TRAINERS
    from yolo_attn.plugin.patches import use_attn_trainers, use_local_fonts

    use_attn_trainers(TRAINERS)
    use_local_fonts()
    if argv is not None:
        sys.argv[1:] = argv  # in place: ultralytics.cfg.ARGV is this same list, read by entrypoint
    entrypoint()
    return 0


if __name__ == "__main__":
    sys.exit(main())

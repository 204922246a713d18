"""``python -m yolo_attn.yolov5 SCRIPT.py [args...]``: run a YOLOv5 script (train.py, val.py, detect.py) with the
attention modules registered into its ``models.yolo``, e.g. inside a YOLOv5 clone:

    python -m yolo_attn.yolov5 train.py --cfg yolov5s-ema.yaml --data coco128.yaml

The script runs as ``__main__`` (``runpy``) with ``sys.argv`` = ``[SCRIPT.py, args...]`` and its folder first on
``sys.path``, as ``python SCRIPT.py`` would; the plugin is imported first, from that folder's ``models/yolo.py``.
"""

from __future__ import annotations

import runpy
import sys
from pathlib import Path

USAGE = ("usage: python -m yolo_attn.yolov5 SCRIPT.py [script arguments...]  (run inside a YOLOv5 clone)\n"
         "       python -m yolo_attn.yolov5 export-ckpt BEST.pt OUT.pt  (a yolo_attn --anchors checkpoint for YOLOv5)")


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if not argv or argv[0] in ("-h", "--help"):
        print(USAGE + "\n\n" + __doc__)
        return 0 if argv else 2
    if argv[0] == "export-ckpt":
        return _export(argv[1:])
    script = Path(argv[0])
    if not script.is_file():
        print(f"error: {script}: no such script; give a YOLOv5 script such as train.py, run from the YOLOv5 clone",
              file=sys.stderr)
        return 2
    sys.path.insert(0, str(script.resolve().parent))  # what `python train.py` does, before the plugin imports models
    try:
        import yolo_attn.yolov5

        yolo_attn.yolov5.install()
    except ImportError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    sys.argv = [str(script), *_shipped_cfg(argv[1:])]
    runpy.run_path(str(script), run_name="__main__")
    return 0


def _shipped_cfg(args: list[str]) -> list[str]:
    """``--cfg yolov5s-ema.yaml`` (a yolo_attn config YOLOv5 cannot find) -> its YOLOv5-format copy under
    ``runs/yolo_attn-cfg/`` (``yolo_attn.yolov5.yaml_format``), said in one line; other arguments unchanged."""
    from yolo_attn.yolov5.yaml_format import shipped_cfg_for_yolov5

    out = list(args)
    for i, a in enumerate(out[:-1]):
        if a == "--cfg" and (found := shipped_cfg_for_yolov5(out[i + 1], Path("runs") / "yolo_attn-cfg")):
            print(f"--cfg {out[i + 1]}: yolo_attn's shipped config in YOLOv5's format (anchor-based head, YOLOv5's "
                  f"default anchors) -> {found}")
            out[i + 1] = str(found)
    return out


def _export(args: list[str]) -> int:
    """``export-ckpt BEST.pt OUT.pt``: a yolo_attn anchor checkpoint as YOLOv5's own (``yolo_attn.yolov5.export``)."""
    from yolo_attn.errors import UsageError
    from yolo_attn.yolov5.export import EXPORT_USAGE, export_checkpoint

    if len(args) != 2:
        print(EXPORT_USAGE, file=sys.stderr)
        return 2
    sys.path.insert(0, str(Path.cwd()))  # the YOLOv5 clone this runs in
    try:
        export_checkpoint(*args)
    except (UsageError, ImportError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())

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


def shipped_cfg_for_yolov5(name: str, folder) -> Path | None:
    """A yolo_attn config name YOLOv5 cannot find (``yolov5s-ema.yaml``: not a file, not in the clone's ``models/``)
    written in YOLOv5's format to ``folder/<name>`` (anchor-based head, YOLOv5's default anchors); its path, or None
    when ``name`` is a file, the clone's own config or no yolo_attn config."""

    import yaml

    from yolo_attn.graph.anchors import anchor_cfg, load_model_dict, yolov5_format
    from yolo_attn.engine.configs import known_configs

    if Path(name).is_file() or list(Path("models").rglob(Path(name).name)) or Path(name).name not in known_configs():
        return None
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    d = load_model_dict(anchor_cfg(Path(name).name, folder))
    d["scale"] = d.get("scale") or load_model_dict(Path(name).name).get("scale")
    out = folder / Path(name).name
    d = yolov5_format(d, nc=d.get("nc", 80))
    rows = {k: d.pop(k) for k in ("backbone", "head")}
    text = f"# {Path(name).name}: yolo_attn's shipped config in YOLOv5's format (python -m yolo_attn.yolov5)\n"
    text += yaml.safe_dump(d, sort_keys=False, default_flow_style=None)
    for k, rs in rows.items():  # one row a line, as YOLOv5's own yamls
        text += f"{k}:\n" + "".join(f"  - {yaml.safe_dump(r, default_flow_style=True, width=1000).strip()}\n" for r in rs)
    out.write_text(text)
    return out


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
    ``runs/yolo_attn-cfg/`` (``shipped_cfg_for_yolov5``), said in one line; other arguments unchanged."""
    out = list(args)
    for i, a in enumerate(out[:-1]):
        if a == "--cfg" and (found := shipped_cfg_for_yolov5(out[i + 1], Path("runs") / "yolo_attn-cfg")):
            print(f"--cfg {out[i + 1]}: yolo_attn's shipped config in YOLOv5's format (anchor-based head, YOLOv5's "
                  f"default anchors) -> {found}")
            out[i + 1] = str(found)
    return out


def _export(args: list[str]) -> int:
    """``export-ckpt BEST.pt OUT.pt``: a yolo_attn anchor checkpoint as YOLOv5's own (``yolo_attn.yolov5.export``)."""
    from yolo_attn.cli.guard import main_guard
    from yolo_attn.yolov5.export import EXPORT_USAGE, export_checkpoint

    if len(args) != 2:
        print(EXPORT_USAGE, file=sys.stderr)
        return 2
    sys.path.insert(0, str(Path.cwd()))  # the YOLOv5 clone this runs in
    return main_guard(lambda argv: export_checkpoint(*argv), args)  # a UsageError: one error line, exit 2


if __name__ == "__main__":
    sys.exit(main())

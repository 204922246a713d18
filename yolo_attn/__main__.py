"""``python -m yolo_attn [--scale s]``: list the registered modules and build every shipped config with a summary.

``python -m yolo_attn check IN.yaml [--scale s]`` builds a yaml from the wild and says what it became;
``python -m yolo_attn fix IN.yaml [-o OUT.yaml]`` writes it in yolo_attn's own dialect (``yolo_attn.cli.check|fix``).
"""

import argparse

from ultralytics.nn.tasks import DetectionModel

import yolo_attn


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="python -m yolo_attn", description=__doc__)
    parser.add_argument("--scale", default="s", choices=list("nsmlx"), help="model scale to build (default: s)")
    parser.add_argument("--imgsz", type=int, default=640, help="image size for the GFLOPs figure")
    args = parser.parse_args(argv)
    print(f"yolo_attn {yolo_attn.__version__}: {len(yolo_attn.ATTENTION_REGISTRY)} attention modules registered: "
          f"{', '.join(sorted(yolo_attn.ATTENTION_REGISTRY))}")
    for cfg in ["yolov5.yaml", *yolo_attn.shipped_configs()]:
        name = cfg.replace("yolov5", f"yolov5{args.scale}", 1)
        model = DetectionModel(name, verbose=False)
        model.info(imgsz=args.imgsz)


def run(argv=None) -> int:
    """Dispatch ``check`` and ``fix`` (one ``error:`` line and exit 2 on bad input); else the module listing."""
    import sys

    argv = sys.argv[1:] if argv is None else list(argv)
    if argv and argv[0] in ("check", "fix"):
        from yolo_attn.cli import check, fix
        from yolo_attn.cli.guard import main_guard

        return main_guard((check if argv[0] == "check" else fix).main, argv[1:])
    main(argv)
    return 0


if __name__ == "__main__":
    raise SystemExit(run())

"""``python -m yolo_attn [--scale s]``: list the registered modules and build every shipped config with a summary."""

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


if __name__ == "__main__":
    main()

"""Run with YOLOv5 v7.0's code on PYTHONPATH (``$YOLO_ATTN_YOLOV5_REF``); never imported by the package or the tests.

``python yolov5_val_child.py STATE_DICT DATA_YAML OUT [IOU]``: builds YOLOv5's own ``Model`` (yolov5n.yaml at the
state dict's class count), loads the state dict strictly (the very weights yolo_attn validated), saves it the way
train.py saves a checkpoint, and validates it with YOLOv5's own ``val.run`` (its dataloader, NMS, matching and
``ap_per_class``) at YOLOv5's settings: conf 0.001, NMS IoU ``IOU`` (default 0.6), max_det 300, batch 16. Saves the
figures to OUT.
"""

import os
import shutil
import sys
from pathlib import Path

import torch


def main(sd_path: Path, data: str, out: Path, iou: float = 0.6):
    import matplotlib

    cfg = out.parent / "yolov5-config"  # check_font finds Arial.ttf here instead of downloading it
    cfg.mkdir(exist_ok=True)
    shutil.copy(Path(matplotlib.get_data_path()) / "fonts" / "ttf" / "DejaVuSans.ttf", cfg / "Arial.ttf")
    os.environ["YOLOV5_CONFIG_DIR"] = str(cfg)

    import yolov5
    import yolov5.models.common
    import yolov5.utils.downloads
    from yolov5 import val

    # the pip package asks the HF hub for any weights name first; offline, a local file is just that
    yolov5.models.common.attempt_download_from_hub = yolov5.utils.downloads.attempt_download_from_hub = (
        lambda *a, **k: None)
    os.environ["TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD"] = "1"  # v7.0's torch.load predates torch 2.6's weights_only
    import numpy as np

    if not hasattr(np, "trapz"):  # numpy 2 renamed it; v7.0's compute_ap integrates with it
        np.trapz = np.trapezoid
    from yolov5.models.yolo import Model

    saved = torch.load(sd_path, map_location="cpu")
    names = list(saved["names"])
    m = Model(str(Path(yolov5.__file__).parent / "models" / "yolov5n.yaml"), ch=3, nc=len(names))
    m.load_state_dict(saved["state_dict"], strict=True)
    m.names, m.nc = names, len(names)
    weights = out.parent / "yolov5-weights.pt"
    torch.save({"model": m.half(), "ema": None, "epoch": -1}, weights)
    (mp, mr, map50, map5095, *_), *_ = val.run(
        data=data, weights=str(weights), batch_size=16, imgsz=int(saved["imgsz"]), conf_thres=0.001, iou_thres=iou,
        max_det=300, device="cpu", workers=0, plots=False, save_json=False, project=str(out.parent / "val"),
        name="exp", half=False)
    torch.save({"precision": mp, "recall": mr, "mAP50": map50, "mAP50-95": map5095}, out)


if __name__ == "__main__":
    main(Path(sys.argv[1]), sys.argv[2], Path(sys.argv[3]), *(float(a) for a in sys.argv[4:5]))

"""Validation entry point (``val_attn.py`` is a thin CLI on this): ultralytics' validator plus, where the data
allows it, pycocotools COCOeval (COCO-format ground truth) or the VisDrone ignored-region evaluation.

ultralytics prints mAP50, mAP50-95, precision, recall, the per-class table and speed; ``validate`` prints the extra
evaluations beside them and writes everything to ``{run}/metrics.json``.
"""

from __future__ import annotations

import json
from pathlib import Path


from yolo_attn.engine.checkpoints import check_weights
from yolo_attn.engine.checks import check_device, run_dir
from yolo_attn.data.lookup import resolve_data
from yolo_attn.errors import UsageError
from yolo_attn.engine.runguard import guard_run
from yolo_attn.engine.trainers import check_task, task_of
from yolo_attn.engine.validators import VALIDATORS, YOLOv5Validator

__all__ = ("validate", "detections_from_jdict",
           "check_eval_inputs")


def detections_from_jdict(jdict: list[dict], class_map: list[int]) -> list[dict]:
    """ultralytics' predictions.json entries -> ``{"file_name", "cls", "bbox", "score"}`` (class index restored)."""
    index = {c: i for i, c in enumerate(class_map)}
    return [{"file_name": d["file_name"], "cls": index[d["category_id"]], "bbox": d["bbox"], "score": d["score"]}
            for d in jdict]


def _coco_json(data: dict) -> Path | None:
    """The COCO ground truth for the val split: the yaml's ``coco_json``, or COCO 2017's usual location."""
    root = Path(data["path"])
    if data.get("coco_json"):
        return root / data["coco_json"]
    default = root / "annotations" / "instances_val2017.json"
    return default if "val2017" in str(data.get("val", "")) and default.is_file() else None


def check_eval_inputs(data: str, split: str) -> None:
    """The evaluation's own inputs, read before anything is written (a bad one found after ultralytics' validation
    would leave predictions.json and plots without metrics.json): the ``coco_json`` ground truth (exists, is a COCO
    instances json) and the VisDrone ignore files (numbers, the same count on every line)."""
    from ultralytics.data.utils import check_det_dataset

    from yolo_attn.eval.visdrone import check_ignore_folder

    info = check_det_dataset(data)
    gt = _coco_json(info)
    if gt is not None:
        if not gt.is_file():
            raise UsageError(f"{data}: coco_json {gt} does not exist; it is the COCO instances json of the '{split}' split")
        try:
            coco = json.loads(gt.read_text(errors="replace"))
        except (ValueError, OSError) as e:
            raise UsageError(f"{data}: coco_json {gt} is not JSON ({e}); give the COCO instances json of the "
                             f"'{split}' split") from None
        if not isinstance(coco, dict) or not all(isinstance(coco.get(k), list) for k in COCO_KEYS):
            raise UsageError(f"{data}: coco_json {gt} is not a COCO instances json (it needs the lists "
                             f"{', '.join(COCO_KEYS)}); give the instances json of the '{split}' split")
    if info.get("visdrone_ignore"):
        dirs = info.get(split) if isinstance(info.get(split), list) else [info.get(split)]
        try:
            check_ignore_folder([d for d in dirs if d], info["visdrone_ignore"])
        except (ValueError, OSError) as e:
            raise UsageError(f"{data}: visdrone_ignore: {e}") from None


COCO_KEYS = ("images", "annotations", "categories")


def validate(
    weights: str,
    data: str | None = None,
    *,
    imgsz: int | None = None,
    batch: int = 16,
    device: str | None = None,
    split: str = "val",
    workers: int = 0,
    project: str = "runs",
    name: str = "val",
    exist_ok: bool = False,
    protocol: str | None = None,
    **overrides,
) -> dict:
    """Validate ``weights`` on ``data`` (default: the data it was trained on); return the figures as a dict.

    ``protocol``: ``"ultralytics"`` (default) or ``"yolov5"``, YOLOv5 val.py's settings (``yolo_attn.engine.protocol``);
    the figures record it, with the head (``anchor`` or ``v5u``).
    """
    from ultralytics import YOLO

    from yolo_attn.anchor.model import head_kind
    from yolo_attn.protocols import check_protocol, protocol_record, protocol_settings
    from yolo_attn.plugin.patches import use_local_fonts

    device = check_device(device)
    task = check_task(task_of(check_weights(weights)), f"--weights {weights}")
    model = YOLO(weights, task=task)
    train_args = model.ckpt.get("train_args", {}) if model.ckpt else {}
    data = data or train_args.get("data")
    if not data:
        raise UsageError(f"--weights {weights} does not record its dataset; pass --data")
    data = resolve_data(data, splits=("val", split))  # a val-only dataset evaluates (no train split needed)
    check_eval_inputs(data, split)
    protocol = check_protocol(protocol)
    if protocol != "ultralytics" and task != "detect":
        raise UsageError(f"--protocol {protocol}: for detection checkpoints; {weights} is a '{task}' model")
    fixed = protocol_settings(protocol, data, overrides)
    project, name = run_dir(project, name)
    use_local_fonts()
    args = {
        **model.overrides, "rect": True, "data": data, "imgsz": imgsz or train_args.get("imgsz", 640), "batch": batch,
        "device": device, "split": split, "workers": workers, "save_json": True, "project": project, "name": name,
        "exist_ok": exist_ok, **overrides, **fixed, "mode": "val",
    }
    with guard_run(None, project):  # a validation that fails, up to metrics.json, leaves no run folder behind
        validator = (YOLOv5Validator if protocol == "yolov5" else VALIDATORS[task])(args=args)
        validator(model=model.model)
        out, lines = _figures(validator, task, weights, data, split, args["imgsz"])
        used = {k: getattr(validator.args, k) for k in ("iou", "conf", "max_det", "rect")}
        out.update(protocol_record(protocol, used), head=head_kind(model.model))
        lines[0] = lines[0].replace("ultralytics:  ", f"{protocol + ':':<14}", 1) + f"  ({out['head']} head; " + \
            ", ".join(f"{k} {v}" for k, v in used.items()) + ")"
        lines += _coco_figures(validator, data, split, out) + _visdrone_figures(validator, out)
        save_dir = Path(validator.save_dir)
        (save_dir / "metrics.json").write_text(json.dumps(out, indent=2))
    print("\n".join(lines))
    print(f"metrics written to {save_dir / 'metrics.json'}")
    out["save_dir"] = str(save_dir)
    return out


def _figures(validator, task: str, weights: str, data: str, split: str, imgsz: int) -> tuple[dict, list[str]]:
    """ultralytics' own figures of a finished validation: the result dict and its printed lines."""
    from yolo_attn.eval.per_class import per_class_ap

    box = validator.metrics.box
    out = {
        "weights": str(Path(weights).resolve()), "data": data, "split": split, "imgsz": imgsz,
        "precision": float(box.mp), "recall": float(box.mr), "mAP50": float(box.map50), "mAP50-95": float(box.map),
        "per_class": per_class_ap(validator.metrics, validator.names),  # as a trained run's per_class.json
        "speed_ms": dict(validator.speed), "task": task,
    }
    lines = [f"ultralytics:  mAP50 {out['mAP50']:.4f}  mAP50-95 {out['mAP50-95']:.4f}  "
             f"P {out['precision']:.4f}  R {out['recall']:.4f}"]
    if task == "segment":
        seg = validator.metrics.seg
        m = out["mask"] = {"precision": float(seg.mp), "recall": float(seg.mr), "mAP50": float(seg.map50),
                           "mAP50-95": float(seg.map)}
        lines += [f"masks:        mAP50 {m['mAP50']:.4f}  mAP50-95 {m['mAP50-95']:.4f}  P {m['precision']:.4f}  "
                  f"R {m['recall']:.4f}"]
    return out, lines


def _coco_figures(validator, data: str, split: str, out: dict) -> list[str]:
    """pycocotools' COCOeval on the saved predictions when the dataset has a COCO json (into ``out``); its lines."""
    from yolo_attn.eval import coco_eval, summary_lines

    gt = _coco_json(validator.data)
    if gt is None:
        return []
    if not gt.is_file():
        raise UsageError(f"{data}: coco_json {gt} does not exist; it is the COCO instances json of the '{split}' split")
    try:
        r = coco_eval(gt, detections_from_jdict(validator.jdict, validator.class_map), validator.names)
    except (KeyError, ValueError, TypeError, IndexError) as e:
        raise UsageError(f"{data}: coco_json {gt} does not match this split ({type(e).__name__}: {e}); give the COCO "
                         f"instances json of the '{split}' split") from None
    out["pycocotools"] = {"mAP50": r["map50"], "mAP50-95": r["map50_95"], "stats": r["stats"]}
    return [f"pycocotools:  mAP50 {r['map50']:.4f}  mAP50-95 {r['map50_95']:.4f}  (COCOeval on {gt.name})",
            *summary_lines(r["stats"])]


def _visdrone_figures(validator, out: dict) -> list[str]:
    """VisDrone's evaluation with and without its ignored regions (into ``out``); its lines. [] for other data."""
    from yolo_attn.eval import visdrone_eval
    from yolo_attn.eval.visdrone import MAX_DETS

    if not validator.data.get("visdrone_ignore"):
        return []
    dets = detections_from_jdict(validator.jdict, validator.class_map)
    r = visdrone_eval(validator.dataloader.dataset.im_files, dets, validator.names, validator.data["visdrone_ignore"])
    p, ig = r["plain"], r["ignore"]
    out["visdrone"] = {"plain": {"mAP50": p["map50"], "mAP50-95": p["map50_95"]},
                       "ignore_regions": {"mAP50": ig["map50"], "mAP50-95": ig["map50_95"]}, "dropped": r["dropped"],
                       "dropped_gt": r["dropped_gt"]}
    return [
        f"VisDrone plain:           mAP50 {p['map50']:.4f}  mAP50-95 {p['map50_95']:.4f}  (pycocotools, maxDets {MAX_DETS[-1]})",
        f"VisDrone ignored regions: mAP50 {ig['map50']:.4f}  mAP50-95 {ig['map50_95']:.4f}  "
        f"({r['dropped']} detections and {r['dropped_gt']} ground-truth boxes inside ignored regions dropped)",
    ]

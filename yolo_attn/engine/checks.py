"""Argument checks shared by the train/val/compare entry points: configs, datasets, weights, devices, run folders.

Each check turns a mistake into an error that names the file or flag and the fix, before ultralytics starts (and
before anything could try to download).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import yaml

__all__ = (
    "UsageError",
    "known_configs",
    "resolve_cfgs",
    "resolve_data",
    "check_weights",
    "check_device",
    "check_imgsz",
    "check_epochs",
    "check_batch",
    "check_model_cfg",
    "run_dir",
    "pass_through",
)


class UsageError(ValueError):
    """Bad command-line input; the message says what to do. The scripts print it without a traceback."""


SCALES = "nslmx"


def known_configs() -> list[str]:
    """Scaled names users can pass to ``--cfg``: ``yolov5{n,s,m,l,x}.yaml`` and ``yolov5{scale}-{module}.yaml``."""
    from yolo_attn.plugin.hook import shipped_configs

    names = [f"yolov5{s}.yaml" for s in SCALES]
    for cfg in shipped_configs():
        m = re.fullmatch(r"yolov5-(.+)\.yaml", cfg)
        names += [f"yolov5{s}-{m.group(1)}.yaml" for s in SCALES] if m else [cfg]
    return names


def _config_exists(cfg: str) -> bool:
    """True if ultralytics (with the yolo_attn hook) can find the model yaml ``cfg``."""
    import ultralytics.nn.tasks as tasks

    if Path(cfg).is_file():
        return True
    # as ultralytics' yaml_model_load: the whole path, so path/to/yolov5n-x.yaml -> path/to/yolov5-x.yaml (scale n)
    unified = re.sub(r"(\d+)([nslmx])(.+)?$", r"\1\3", str(cfg))
    return any(tasks.check_yaml(name, hard=False) for name in {cfg, unified})


def resolve_cfgs(cfg: str, scale: str = "n") -> list[str]:
    """``--cfg`` value -> list of model yamls.

    ``all`` means the plain ``yolov5{scale}.yaml`` plus every shipped attention config at that scale; a
    comma-separated list gives each entry. A name that cannot be found raises ``UsageError`` with the closest names.
    """
    from yolo_attn.registry import closest_names

    if scale not in SCALES:
        raise UsageError(f"--scale {scale!r} is not one of {', '.join(SCALES)}")
    if cfg.strip().lower() == "all":
        return [c for c in known_configs() if re.fullmatch(rf"yolov5{scale}(-.+)?\.yaml", c)]
    cfgs = [c.strip() for c in cfg.split(",") if c.strip()]
    if not cfgs:
        raise UsageError("--cfg is empty; give a config name such as yolov5n-simam.yaml, a path, or 'all'")
    for i, c in enumerate(cfgs):
        if not c.endswith((".yaml", ".yml")) and not Path(c).exists():
            c = cfgs[i] = c + ".yaml"  # allow the bare stem: yolov5n-simam
        if not _config_exists(c):
            close = closest_names(Path(c).name, known_configs())
            hint = f" Did you mean {', '.join(close)}?" if close else ""
            raise UsageError(
                f"--cfg {c}: no such model config (not a file, not a shipped or ultralytics yaml).{hint} "
                f"Shipped: yolov5{{n,s,m,l,x}}-{{{','.join(sorted({n.split('-', 1)[1][:-5] for n in known_configs() if '-' in n}))}}}.yaml"
            )
    return cfgs


def _how_to_get(name: str) -> str:
    low = name.lower()
    if "visdrone" in low:
        return (
            "Download VisDrone2019-DET-{train,val} from https://github.com/VisDrone/VisDrone-Dataset and convert each "
            "split: python -m yolo_attn.data.visdrone VisDrone2019-DET-train DST/VisDrone  (see docs/PIPELINE.md)"
        )
    if "coco" in low:
        return (
            "Get COCO 2017 (train2017/, val2017/, annotations/instances_*.json) from https://cocodataset.org and "
            "convert it: python -m yolo_attn.data.coco annotations/instances_val2017.json val2017 DST/coco --split "
            "val2017  (see docs/PIPELINE.md)"
        )
    return "Point 'path' in the dataset yaml at the folder holding the images and labels"


def _folder_message(folder: Path) -> str:
    """What to say for ``--data <folder>``: a dataset yaml is wanted; name the yamls inside, or show one to write."""
    yamls = sorted(p for p in folder.glob("*.y*ml") if "names" in (yaml.safe_load(p.read_text()) or {}))
    if yamls:
        return f"--data {folder} is a folder; pass its dataset yaml instead: --data {yamls[0]}"
    train = "images/train" if (folder / "images" / "train").is_dir() else "images"
    val = "images/val" if (folder / "images" / "val").is_dir() else train
    return (
        f"--data {folder} is a folder, but --data takes a dataset yaml: a file that says where the images are and "
        f"names the classes. Write {folder / 'data.yaml'} with\n"
        f"  path: {folder.resolve()}\n  train: {train}\n  val: {val}\n  names: [class0, class1]  # one per class id\n"
        f"(labels in the sibling 'labels' folders, one .txt per image) and pass --data {folder / 'data.yaml'}"
    )


def resolve_data(data: str | None, splits=("train", "val")) -> str:
    """``--data`` value -> path of a dataset yaml whose ``splits`` folders exist; never downloads.

    None gives the embedded synthetic set (generated on first use). ``coco.yaml`` / ``VisDrone.yaml`` are the
    yamls shipped in ``yolo_attn/data`` (ultralytics' own ones would download). A missing yaml or dataset folder
    raises ``UsageError`` naming the path and how to obtain or convert the data. ``splits``: the splits this use
    reads (training: train and val; validation: val and the evaluated split, so a val-only dataset evaluates).
    A root found only under ``./datasets/``, or a yaml without ``train``, is handed over as a derived copy
    (``yolo_attn.engine.data_paths``), announced.
    """
    from yolo_attn.data import DATA_DIR
    from yolo_attn.data.synthetic import default_dataset
    from yolo_attn.engine.data_paths import dataset_root, derived_yaml

    if data is None:
        return str(default_dataset())
    f = Path(data)
    if f.is_dir():
        raise UsageError(_folder_message(f))
    if not f.is_file():
        shipped = {p.name.lower(): p for p in DATA_DIR.glob("*.yaml")}
        if f.name.lower() in shipped and len(f.parts) == 1:
            f = shipped[f.name.lower()]
        else:
            raise UsageError(
                f"--data {data}: no such dataset yaml. Shipped: {', '.join(sorted(p.name for p in shipped.values()))}; "
                f"omit --data for the embedded demo set. {_how_to_get(data)}"
            )
    d = yaml.safe_load(f.read_text()) or {}
    if "names" not in d or "val" not in d:
        raise UsageError(f"--data {f}: a dataset yaml needs 'names' and 'val' (and 'train' to train)")
    for split in dict.fromkeys(splits):
        if not d.get(split):
            raise UsageError(f"--data {f}: no '{split}' split in this dataset yaml" +
                             (" (a dataset yaml needs 'train' to train; val_attn.py needs only 'names' and 'val')"
                              if split == "train" else ""))
    root, note = dataset_root(d, f)
    _check_split_paths(f, d, root, splits)
    if note or not d.get("train"):
        why = note or f"--data {f.name}: no 'train' split; validation only"
        derived = derived_yaml(f, d, root, why)
        print(f"{why}; reading the dataset through {derived}")
        return str(derived)
    return str(f.resolve())


def _check_split_paths(f: Path, d: dict, root: Path, splits) -> None:
    """Every image folder/list of ``splits`` exists and, for a folder, its sibling labels folder has .txt files."""
    for split in dict.fromkeys(splits):
        for rel in [d[split]] if isinstance(d.get(split), str) else d.get(split) or []:
            p = Path(rel) if Path(rel).is_absolute() else root / rel
            if not p.exists():
                raise UsageError(
                    f"--data {f}: {split} path {p} does not exist (dataset root {root}; relative roots are looked up "
                    f"in the working directory, its datasets/ folder, then ultralytics' datasets_dir). "
                    f"{_how_to_get(str(f))}"
                )
            labels = Path(str(p).replace(f"{os.sep}images{os.sep}", f"{os.sep}labels{os.sep}"))
            if p.is_dir() and labels != p and not any(labels.glob("*.txt")):  # ultralytics would stop after a run dir
                raise UsageError(
                    f"--data {f}: {split} labels folder {labels} has no .txt label files (one per image, lines "
                    f"'class cx cy w h' normalised to 0-1). Write or convert the labels there. {_how_to_get(str(f))}"
                )


def check_weights(weights: str) -> dict:
    """Load a checkpoint (``.pt``) and return it; a missing or corrupt file raises ``UsageError`` saying so."""
    from ultralytics.nn.tasks import torch_safe_load

    p = Path(weights)
    if not p.is_file():
        raise UsageError(f"--weights {weights}: no such file (nothing is downloaded; give a local .pt)")
    try:
        ckpt, _ = torch_safe_load(str(p))
    except Exception as e:  # torch raises several types for truncated or non-zip files
        raise UsageError(
            f"--weights {p}: not a readable PyTorch checkpoint, the file is corrupt or truncated "
            f"({type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''})"
        ) from None
    if not isinstance(ckpt, dict) or not (ckpt.get("ema") or ckpt.get("model")):
        raise UsageError(f"--weights {p}: a checkpoint but not an ultralytics one (no 'model' or 'ema' entry)")
    return ckpt


def check_device(device: str | None) -> str | None:
    """Fail early, with the reason, on ``--device 0`` / ``0,1`` when CUDA or those GPUs are missing."""
    import torch

    if device is None or str(device).strip().lower() in {"", "cpu"}:
        return device
    if str(device).strip().lower() == "mps":  # ultralytics would quietly train on the CPU and record device: mps
        if not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
            raise UsageError(
                f"--device {device}: Apple's MPS backend is not available here (torch.backends.mps.is_available() is "
                f"False: it needs an Apple-silicon Mac and a torch built with MPS). Use --device cpu"
                + (" or --device 0 (CUDA)" if torch.cuda.is_available() else "")
            )
        return "mps"
    ids = [s for s in str(device).replace(" ", "").split(",") if s]
    if not all(s.isdigit() for s in ids):
        raise UsageError(f"--device {device}: use 'cpu', one GPU index such as 0, or a list such as 0,1,2,3")
    if not torch.cuda.is_available():
        raise UsageError(
            f"--device {device} asks for CUDA GPU(s), but no CUDA GPU is usable here (torch.cuda.is_available() is "
            f"False; torch {torch.__version__}, CUDA build {torch.version.cuda or 'none'}). Use --device cpu"
        )
    n = torch.cuda.device_count()
    if max(int(s) for s in ids) >= n:
        raise UsageError(f"--device {device}: this machine has {n} CUDA GPU(s), indices 0..{n - 1}")
    return ",".join(ids)


def check_imgsz(imgsz) -> int:
    """``--imgsz`` must be a positive multiple of 32, the detector's largest stride (ultralytics would silently round)."""
    if isinstance(imgsz, bool) or not isinstance(imgsz, int) or imgsz <= 0:
        raise UsageError(f"--imgsz {imgsz}: must be a positive multiple of 32, e.g. 640 (or 64-160 for quick CPU runs)")
    if imgsz % 32:
        lo = max(imgsz // 32 * 32, 32)
        raise UsageError(f"--imgsz {imgsz}: must be a multiple of 32 (the detector's largest stride); use {lo} or {lo + 32}")
    return imgsz


def check_epochs(epochs) -> int:
    """``--epochs`` must be a positive integer (ultralytics fails late, after making the run folder, on 0)."""
    if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 1:
        raise UsageError(f"--epochs {epochs}: must be 1 or more (YOLOv5's default is 100; the demo uses 15)")
    return epochs


def check_batch(batch) -> int:
    """``--batch-size`` must be a positive integer, or -1 for ultralytics' AutoBatch (CUDA only)."""
    if isinstance(batch, bool) or not isinstance(batch, int) or not (batch >= 1 or batch == -1):
        raise UsageError(f"--batch-size {batch}: must be 1 or more (total over all GPUs), or -1 for AutoBatch on a GPU")
    return batch


def check_model_cfg(cfg: str) -> None:
    """Build the layers of model yaml ``cfg`` once, so a bad yaml stops with one ``error:`` line before any run folder
    exists (unknown module, bad arguments, yaml syntax: the message names the file, layer and fix)."""
    import copy

    from ultralytics.nn import tasks

    try:  # parse_model's pre-check (yolo_attn.plugin.hook) runs yaml_checks.check_graph: bad 'from' indices named per layer
        tasks.parse_model(copy.deepcopy(tasks.yaml_model_load(cfg)), 3, verbose=False)
    except (KeyError, ValueError) as e:
        msg = str(e.args[0] if isinstance(e, KeyError) and e.args else e)
        raise UsageError(msg if str(cfg) in msg else f"--cfg {cfg}: {msg}") from None


def run_dir(project: str, name: str, exist_ok: bool) -> tuple[str, str]:
    """(absolute project, name) so ultralytics saves to ``project/name`` exactly, not under ``runs/detect/``.

    ultralytics puts a relative ``project`` under its ``runs_dir/detect``; an absolute one is used as is. Without
    ``exist_ok`` it increments the name (``exp`` -> ``exp2``) rather than overwrite, as YOLOv5 does.
    """
    return str(Path(project).resolve()), name


def pass_through(extra: list[str]) -> dict:
    """``key=value`` words left over by argparse -> dict for ultralytics (values parsed as ultralytics does)."""
    from ultralytics.cfg import smart_value

    out = {}
    for word in extra:
        if "=" not in word or word.startswith("-"):
            raise UsageError(f"unrecognised argument {word!r}; extra ultralytics settings are written key=value, e.g. lr0=0.005")
        k, v = word.split("=", 1)
        out[k] = smart_value(v)
    return out

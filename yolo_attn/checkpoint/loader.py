"""``load_checkpoint_safely``: the one way yolo_attn (and, after ``import yolo_attn``, ultralytics) reads a ``.pt``.

Every file first passes the format check (``scan.py``). Then, by default, nothing in it can run code:

- a checkpoint saved by ultralytics or yolo_attn is read by torch's ``weights_only=True`` unpickler against an allow
  list: ultralytics' own (``ultralytics.nn.tasks._SafeLoad``: its ``nn.Module`` classes, ``torch.nn``, plain data)
  plus yolo_attn's module classes (``plugin/safe_load.py``);
- a checkpoint saved by YOLOv5 (``models.yolo`` / ``yolov5.models.yolo`` objects) is read by the restricted unpickler
  of ``yolo_attn.checkpoint.yolov5`` (YOLOv5's classes as inert placeholders) and converted in memory to yolo_attn's
  anchor-based model (``yolo_attn.anchor``), which the log says in one line.

``trust=True`` or ``YOLO_ATTN_TRUST_WEIGHTS=1`` (``--trust-weights``) is the one way to the full pickle: it runs the
file's code, so it is for files the user made. TorchScript archives are refused either way.
"""

from __future__ import annotations

import copy
import os
import pickle
import re

import torch

from yolo_attn.checkpoint.scan import scan_checkpoint
from yolo_attn.errors import UsageError

__all__ = ("TRUST_ENV", "MAX_NC", "load_checkpoint_safely", "trust_requested", "yolov5_to_model", "add_trust_arg",
           "use_trust")

TRUST_ENV = "YOLO_ATTN_TRUST_WEIGHTS"
YOLOV5_HEADS = {"models.yolo", "yolov5.models.yolo"}


ULTRALYTICS_ORIGINALS: dict = {}  # ultralytics' own loaders, kept by plugin/safe_load.install before it routes them here

MAX_NC = 10_000  # equal to yolo_attn.checkpoint.yolov5.MAX_NC (the YOLOv5 reader checks before range(nc))


def trust_requested(trust: bool | None = None) -> bool:
    """``trust`` when given, else whether ``YOLO_ATTN_TRUST_WEIGHTS`` is 1/true/yes."""
    if trust is not None:
        return bool(trust)
    return os.environ.get(TRUST_ENV, "").strip().lower() in {"1", "true", "yes"}


def _refused_global(e: Exception) -> str:
    """The global torch's weights-only unpickler refused, from its message ('?' when it names none)."""
    text = str(e).split("WeightsUnpickler error:", 1)[-1]
    m = re.search(r"(?:GLOBAL|global|reduce for) '?([\w.<>]+)", text)
    if m:
        return f"global '{m.group(1)}'"
    return f"({text.strip().splitlines()[0][:100]})" if text.strip() else "global '?'"


def _user_classes() -> list[type]:
    """``nn.Module`` classes the user chose to run: registered attention modules and every one defined in a module
    of ``--import`` / ``YOLO_ATTN_IMPORT`` (code by definition, so their instances may be rebuilt)."""
    import sys

    from yolo_attn.registry import ATTENTION_REGISTRY
    from yolo_attn.user_imports import ENV

    found = [c for c in ATTENTION_REGISTRY.values() if isinstance(c, type) and issubclass(c, torch.nn.Module)]
    for name in (n.strip() for n in os.environ.get(ENV, "").split(",") if n.strip()):
        module = sys.modules.get(name)
        found += [c for c in vars(module).values() if isinstance(c, type) and issubclass(c, torch.nn.Module)
                  and c.__module__ == name] if module else []
    return found


def _weights_only(path: str, label: str) -> dict:
    """torch's weights-only unpickler with ultralytics' allow list (registered per file) and ours (at import)."""
    from ultralytics.nn.tasks import _SafeLoad

    torch.serialization.add_safe_globals(_user_classes())
    try:
        with _SafeLoad.loading(path):
            return torch.load(path, map_location="cpu", weights_only=True)
    except (pickle.UnpicklingError, ImportError) as e:  # ImportError: ultralytics' allow list imports a named module
        raise UsageError(
            f"{label}: refused to load {_refused_global(e)}: a checkpoint of yolo_attn, ultralytics or YOLOv5 "
            f"holds only their model classes, tensors and plain data, so this file is not one (or was tampered with); "
            f"it was not loaded. If you made this file yourself, --trust-weights ({TRUST_ENV}=1) loads it with its "
            "code") from None
    except (RuntimeError, EOFError, ValueError, OSError, TypeError, AttributeError, KeyError, AssertionError,
            IndexError) as e:  # torch's reader on a damaged or crafted file
        first = str(e).splitlines()[0] if str(e) else ""
        raise UsageError(f"{label}: not a readable PyTorch checkpoint, the file is corrupt or truncated "
                         f"({type(e).__name__}: {first})") from None


def original_torch_safe_load():
    """ultralytics' own ``torch_safe_load`` (the full pickle under ``safe_only=False``): for the trusted opt-in only."""
    import ultralytics.nn.tasks as tasks

    return ULTRALYTICS_ORIGINALS.get("torch_safe_load", tasks.torch_safe_load)


def _full_pickle(path: str, label: str) -> dict:
    """The opt-in: ultralytics' own loader with ``weights_only=False`` (runs the file's code)."""
    try:
        return original_torch_safe_load()(path, safe_only=False)[0]
    except Exception as e:  # the user's own file failed to unpickle; say why in one line
        first = str(e).splitlines()[0] if str(e) else ""
        raise UsageError(f"{label}: could not be loaded even as a trusted file ({type(e).__name__}: {first})") from None


def yolov5_to_model(ck, label: str):
    """yolo_attn's anchor-based model (``AnchorDetectionModel``) holding a ``YOLOv5Checkpoint``'s every tensor.

    The model is built from the checkpoint's own yaml with ultralytics' restricted builder (no ``eval``), fused first
    when the checkpoint is (YOLOv5's ``fuse()`` folded BatchNorm into the convolutions); every tensor must match.
    """
    from ultralytics.nn.tasks import DetectionModel, _SafeLoad

    from yolo_attn.anchor.model import head_kind

    d = copy.deepcopy(ck.yaml)
    d["nc"] = ck.nc
    seg = any(c.endswith(".Segment") for c in ck.classes.values())
    if seg:
        raise UsageError(f"{label}: a YOLOv5 segmentation checkpoint (Segment head); yolo_attn converts YOLOv5 "
                         "detection checkpoints (Detect head) only. Use YOLOv5's own segment/val.py for it")
    _SafeLoad._local.active = True  # ultralytics' builder without eval() for the checkpoint's yaml
    try:
        model = DetectionModel(d, ch=int(d.get("ch", 3) or 3), nc=ck.nc, verbose=False)
    except UsageError:
        raise
    except Exception as e:
        raise UsageError(f"{label}: its YOLOv5 model yaml does not build ({type(e).__name__}: {e})") from None
    finally:
        _SafeLoad._local.active = False
    if head_kind(model) != "anchor":
        raise UsageError(f"{label}: its YOLOv5 model yaml does not build YOLOv5's anchor head")
    fused = not any(k.endswith(".bn.weight") for k in ck.state_dict) and any(k.endswith(".conv.bias")
                                                                              for k in ck.state_dict)
    if fused:
        model.fuse(verbose=False)
    missing, unexpected = model.load_state_dict(ck.state_dict, strict=False)
    if missing or unexpected:
        raise UsageError(f"{label}: a YOLOv5 checkpoint whose tensors do not fit the model its own yaml builds "
                         f"(missing {missing[:3]}, unexpected {unexpected[:3]})")
    head = model.model[-1]
    head.grid = [torch.empty(0) for _ in range(head.nl)]
    head.anchor_grid = [torch.empty(0) for _ in range(head.nl)]
    model.names = dict(ck.names)
    return model.eval(), fused


def _yolov5_ckpt(path: str, label: str) -> dict:
    from ultralytics.utils import LOGGER

    from yolo_attn.checkpoint.yolov5 import read_yolov5_checkpoint_or_usage_error

    ck = read_yolov5_checkpoint_or_usage_error(path, label)
    model, fused = yolov5_to_model(ck, label)
    LOGGER.info(f"{label}: a YOLOv5 checkpoint ({ck.layout} layout, ckpt['{ck.entry}']{', fused' * fused}, nc {ck.nc}) "
                "read without its code and converted in memory to yolo_attn's anchor-based model (yolo_attn.anchor, "
                "YOLOv5's head)" + (f"; trained at imgsz {ck.train_imgsz} (its opt.imgsz)" if ck.train_imgsz else ""))
    train_args = {"imgsz": ck.train_imgsz} if ck.train_imgsz else {}  # val_attn.py's default size, as for our own
    return {"model": model, "ema": None, "epoch": -1, "train_args": train_args, "yolov5": ck}


def _check_nc(ckpt, label: str) -> None:
    model = ckpt.get("ema") or ckpt.get("model") if isinstance(ckpt, dict) else None
    values = [getattr(model, "nc", None), (getattr(model, "yaml", None) or {}).get("nc")
              if isinstance(getattr(model, "yaml", None), dict) else None]
    names = getattr(model, "names", None)
    for nc in values:
        if isinstance(nc, bool) or (nc is not None and not isinstance(nc, int)) or (isinstance(nc, int) and
                                                                                  not 0 < nc <= MAX_NC):
            raise UsageError(f"{label}: the checkpoint says nc {nc!r}; a detector has 1 to {MAX_NC:,} classes, so the "
                             "file is damaged or crafted; it was not loaded")
    if names is not None and hasattr(names, "__len__") and len(names) > MAX_NC:
        raise UsageError(f"{label}: the checkpoint names {len(names):,} classes (over {MAX_NC:,}); it was not loaded")


def load_checkpoint_safely(path, *, trust: bool | None = None, label: str | None = None) -> dict:
    """Read checkpoint ``path`` without running anything it names (module docstring); return the checkpoint dict.

    Args:
        path: a ``.pt`` file.
        trust: True to unpickle fully (runs the file's code: only for files you made); default
            ``YOLO_ATTN_TRUST_WEIGHTS``.
        label: how messages name the file (default: the path), e.g. ``"--weights best.pt"``.

    Returns:
        the checkpoint dict (``model``/``ema``, ``train_args``, ...). A YOLOv5 checkpoint comes back converted:
        ``{"model": AnchorDetectionModel, "ema": None, "train_args": {}, "yolov5": YOLOv5Checkpoint}``.

    Raises:
        UsageError: one line naming the file for a missing, TorchScript, crafted, oversized or unreadable file.
    """
    label = label or str(path)
    path = str(path)
    scan = scan_checkpoint(path, label)
    if scan.modules & YOLOV5_HEADS:
        return _yolov5_ckpt(path, label)
    ckpt = _full_pickle(path, label) if trust_requested(trust) else _weights_only(path, label)
    if not isinstance(ckpt, dict):
        if isinstance(ckpt, torch.nn.Module):  # torch.save(model): ultralytics accepts it the same way
            return {"model": ckpt}
        raise UsageError(f"{label}: a {type(ckpt).__name__}, not a checkpoint dict; give a .pt saved by training")
    _check_nc(ckpt, label)
    return ckpt


TRUST_HELP = ("load --weights with the full pickle, which RUNS THE FILE'S CODE: only for checkpoints you made yourself "
              f"(also: {TRUST_ENV}=1). Default: read safely, nothing in the file runs")


def add_trust_arg(parser) -> None:
    """``--trust-weights`` on a script's parser."""
    parser.add_argument("--trust-weights", action="store_true", help=TRUST_HELP)


def use_trust(trust: bool) -> None:
    """``--trust-weights`` given: set ``YOLO_ATTN_TRUST_WEIGHTS=1`` for this process and its workers (DDP, Ray)."""
    if trust:
        os.environ[TRUST_ENV] = "1"

"""Read a checkpoint saved by the YOLOv5 repository without YOLOv5's code and without running its pickle.

YOLOv5's train.py saves ``torch.save({'model': deepcopy(de_parallel(model)).half(), 'ema': ..., 'optimizer': ...,
'epoch': ..., 'opt': vars(opt), 'git': ..., 'date': ...})``: whole model objects whose classes live in
``models.yolo`` / ``models.common`` / ``utils.*`` (the repository) or ``yolov5.models.*`` / ``yolov5.utils.*`` (the
``yolov5`` package on PyPI). ultralytics refuses such files, and unpickling them normally needs YOLOv5's code and runs
whatever the pickle names. ``read_yolov5_checkpoint`` unpickles with a restricted ``pickle.Unpickler`` (passed to
``torch.load`` as ``pickle_module``) that

- maps every YOLOv5 class and every ``torch.nn`` module class to an inert placeholder (``YOLOv5Object``) that only
  keeps the object's state (``_modules``, ``_parameters``, ``_buffers``, ``yaml``, ``names``, ``stride``, ...);
- rebuilds tensors and plain containers (torch's tensor/parameter rebuild functions and storages, ``OrderedDict``,
  ``set``, numpy arrays and scalars as YOLOv5 keeps ``best_fitness``, ``pathlib`` paths, ``argparse.Namespace``);
- refuses every other global with ``UnsafeCheckpointError`` naming it (``os.system`` in a crafted pickle, ...).

From the placeholders it collects the fp32 state dict, the model yaml (YOLOv5 keeps ``model.yaml``), names, nc and
stride: a ``YOLOv5Checkpoint``.
"""

from __future__ import annotations

import pickle
import pickletools
import types
import zipfile
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path

import torch

__all__ = ("YOLOv5Checkpoint", "YOLOv5Object", "UnsafeCheckpointError", "is_yolov5_checkpoint",
           "read_yolov5_checkpoint", "yolov5_layout")

# Module prefixes of YOLOv5's classes: the repository (run from its root) and the packaged copy on PyPI.
REPOSITORY_PREFIXES = ("models.", "utils.")
PACKAGED_PREFIXES = ("yolov5.models.", "yolov5.utils.")
HEAD_MODULES = {"models.yolo", "yolov5.models.yolo"}  # where YOLOv5's Model/DetectionModel and Detect live

# Globals that rebuild tensors and plain data; nothing here runs code of the checkpoint's choosing.
_DATA_GLOBALS = {
    ("collections", "OrderedDict"), ("builtins", "set"), ("builtins", "frozenset"), ("builtins", "slice"),
    ("__builtin__", "set"), ("__builtin__", "frozenset"), ("__builtin__", "slice"),
    ("_codecs", "encode"),  # protocol-2 pickles store bytes (numpy buffers) as latin-1 text through it
    ("torch._utils", "_rebuild_tensor_v2"), ("torch._utils", "_rebuild_tensor"), ("torch._utils", "_rebuild_parameter"),
    ("torch._utils", "_rebuild_parameter_with_state"), ("torch", "Size"), ("torch", "device"),
    ("numpy", "ndarray"), ("numpy", "dtype"), ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "_reconstruct"), ("numpy.core.multiarray", "scalar"),
    ("numpy._core.multiarray", "scalar"),
    ("pathlib", "PosixPath"), ("pathlib", "WindowsPath"), ("pathlib", "Path"), ("pathlib", "PurePosixPath"),
    ("pathlib", "PureWindowsPath"), ("pathlib._local", "PosixPath"), ("pathlib._local", "WindowsPath"),
    ("argparse", "Namespace"),
}


class UnsafeCheckpointError(pickle.UnpicklingError):
    """The checkpoint's pickle names a global that is neither a YOLOv5/torch.nn class nor tensor or plain data."""


class YOLOv5Object:
    """Inert stand-in for a pickled YOLOv5 (or ``torch.nn``) object: keeps its pickled state, runs nothing.

    ``source`` is the class path the pickle named (``models.common.Conv``); the state is in ``__dict__``.
    """

    source = "?"

    def __init__(self, *args, **kwargs):  # a pickle may REDUCE on a class: keep the arguments, do nothing
        self.__dict__["_reduce_args"] = (args, kwargs)

    def __setstate__(self, state):
        if isinstance(state, tuple) and len(state) == 2:  # (dict state, slot state)
            state = {**(state[0] or {}), **(state[1] or {})}
        if isinstance(state, dict):
            self.__dict__.update(state)

    def __repr__(self):
        return f"<placeholder of {self.source}>"


_PLACEHOLDERS: dict[str, type] = {}


def _placeholder(module: str, name: str) -> type:
    path = f"{module}.{name}"
    if path not in _PLACEHOLDERS:
        _PLACEHOLDERS[path] = type(name, (YOLOv5Object,), {"source": path, "__module__": __name__})
    return _PLACEHOLDERS[path]


def _is_module_class(module: str) -> bool:
    """YOLOv5's own classes (either layout) and torch.nn's module classes become placeholders."""
    return module.startswith(REPOSITORY_PREFIXES + PACKAGED_PREFIXES) or module in {"models", "utils"} or \
        module.startswith("torch.nn.modules.")


class _RestrictedUnpickler(pickle.Unpickler):
    def find_class(self, module, name):
        if (module, name) in _DATA_GLOBALS:
            return super().find_class(module, name)
        if module == "torch" and isinstance(getattr(torch, name, None), torch.dtype):  # torch.float16 ...
            return getattr(torch, name)
        if _is_module_class(module) and name.isidentifier() and not name.startswith("_"):
            return _placeholder(module, name)
        raise UnsafeCheckpointError(
            f"refused to load global '{module}.{name}': a YOLOv5 checkpoint holds only YOLOv5/torch.nn modules, "
            "tensors and plain data, so this file is not one (or was tampered with); it was not loaded"
        )


# torch.load(pickle_module=...) needs a module-like object with Unpickler (and load for the legacy format).
_PICKLE_MODULE = types.SimpleNamespace(
    Unpickler=_RestrictedUnpickler, load=lambda f, **kw: _RestrictedUnpickler(f, **kw).load(), __name__="yolo_attn_v5"
)


def _pickled_globals(path) -> set[str]:
    """Module paths of the globals a zip checkpoint's pickle names (read with pickletools: nothing is run)."""
    with zipfile.ZipFile(path) as z:
        pkl = next((n for n in z.namelist() if n.endswith("data.pkl")), None)
        data = z.read(pkl) if pkl else b""
    found, strings = set(), []
    for op, arg, _ in pickletools.genops(data):
        if op.name == "GLOBAL":
            found.add(arg.split(" ")[0])
        elif op.name == "STACK_GLOBAL" and len(strings) >= 2:
            found.add(strings[-2])
        if isinstance(arg, str):
            strings.append(arg)
    return found


def yolov5_layout(path) -> str | None:
    """'repository' (``models.yolo``), 'packaged' (``yolov5.models.yolo``) or None (not a YOLOv5 checkpoint)."""
    try:
        if not zipfile.is_zipfile(path):
            return None
        mods = _pickled_globals(path)
    except (OSError, ValueError, zipfile.BadZipFile, pickle.UnpicklingError, EOFError):
        return None
    if "yolov5.models.yolo" in mods:
        return "packaged"
    if "models.yolo" in mods:
        return "repository"
    return None


def is_yolov5_checkpoint(path) -> bool:
    """True when ``path`` is a checkpoint saved by the YOLOv5 repository (or the ``yolov5`` package)."""
    return isinstance(path, (str, Path)) and Path(path).is_file() and yolov5_layout(path) is not None


@dataclass
class YOLOv5Checkpoint:
    """What a YOLOv5 checkpoint holds, as plain data.

    ``state_dict``: fp32 tensors keyed as YOLOv5's ``model.state_dict()`` (``model.<i>.<name>``, ``model.24.anchors``
    in grid units); ``yaml``: the model dict (``model.yaml``); ``names``: {index: name}; ``stride``: per level;
    ``entry``: which checkpoint entry was read ('ema' when present, as YOLOv5's ``attempt_load``); ``classes``: layer
    index -> YOLOv5 class path; ``layout``: 'repository' or 'packaged'.
    """

    path: str
    state_dict: OrderedDict
    yaml: dict
    names: dict
    nc: int
    stride: list
    entry: str
    classes: dict = field(default_factory=dict)
    layout: str = "repository"
    epoch: int | None = None

    @property
    def model_class(self) -> str:
        return self.classes.get("model", "?")


def _state_dict(obj, prefix: str = "", out: OrderedDict | None = None) -> OrderedDict:
    """state_dict() of a placeholder tree, as nn.Module.state_dict would give it (persistent buffers only), fp32."""
    out = OrderedDict() if out is None else out
    d = obj.__dict__
    for name, p in (d.get("_parameters") or {}).items():
        if p is not None:
            out[prefix + name] = p.detach().float()
    skip = d.get("_non_persistent_buffers_set") or set()
    for name, b in (d.get("_buffers") or {}).items():
        if b is not None and name not in skip:
            out[prefix + name] = b.detach().float() if b.is_floating_point() else b.detach().clone()
    for name, m in (d.get("_modules") or {}).items():
        if isinstance(m, YOLOv5Object):
            _state_dict(m, f"{prefix}{name}.", out)
    return out


def _names(names, nc: int) -> dict:
    if isinstance(names, dict):
        return {int(k): str(v) for k, v in names.items()}
    if isinstance(names, (list, tuple)):
        return {i: str(n) for i, n in enumerate(names)}
    return {i: f"class{i}" for i in range(nc)}


def read_yolov5_checkpoint(path) -> YOLOv5Checkpoint:
    """Read a checkpoint saved by YOLOv5 (see the module docstring); raise ``UnsafeCheckpointError`` on a foreign
    global and ``ValueError`` when the file holds no YOLOv5 model object."""
    path = str(path)
    ckpt = torch.load(path, map_location="cpu", pickle_module=_PICKLE_MODULE, weights_only=False)
    found = [k for k in ("ema", "model") if isinstance(ckpt, dict) and isinstance(ckpt.get(k), YOLOv5Object)]
    entry = found[0] if found else None
    if entry is None:
        raise ValueError(f"{path}: no YOLOv5 model object in ckpt['ema'] or ckpt['model']")
    model = ckpt[entry]
    d = model.__dict__
    if not isinstance(d.get("yaml"), dict) or not isinstance((d.get("_modules") or {}).get("model"), YOLOv5Object):
        raise ValueError(f"{path}: ckpt['{entry}'] ({model.source}) has no model yaml or layer list; "
                         "not a YOLOv5 detection model")
    layers = d["_modules"]["model"].__dict__.get("_modules") or {}
    head = layers[list(layers)[-1]] if layers else None
    nc = int(d.get("nc") or d["yaml"].get("nc") or getattr(head, "__dict__", {}).get("nc", 0))
    stride = d.get("stride", getattr(head, "__dict__", {}).get("stride"))
    stride = [float(s) for s in stride] if stride is not None else []
    classes = {"model": model.source, **{str(k): m.source for k, m in layers.items() if isinstance(m, YOLOv5Object)}}
    mods = {c.rsplit(".", 1)[0] for c in classes.values()}
    return YOLOv5Checkpoint(
        path=path, state_dict=_state_dict(model), yaml=dict(d["yaml"]), names=_names(d.get("names"), nc), nc=nc,
        stride=stride, entry=entry, classes=classes,
        layout="packaged" if any(m.startswith("yolov5.") for m in mods if m in HEAD_MODULES) else "repository",
        epoch=ckpt.get("epoch") if isinstance(ckpt.get("epoch"), int) else None,
    )

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
- maps ``yolo_attn.models.*`` module classes (checkpoints saved by ``python -m yolo_attn.yolov5``) to placeholders too,
  and ``getattr(<YOLOv5 object>, 'forward'|'forward_fuse')`` (fused and segmentation models pickle it) to an inert,
  non-callable record;
- refuses every other global with ``UnsafeCheckpointError`` naming it (``os.system`` in a crafted pickle, ...), and
  every state that would make a placeholder or tensor call something (a ``__setstate__`` key, tensor hooks or
  attributes), before any attribute of torch is looked up.

The file first passes ``yolo_attn.checkpoint.scan_checkpoint`` (TorchScript, crafted zips, size and opcode caps).

From the placeholders it collects the fp32 state dict, the model yaml (YOLOv5 keeps ``model.yaml``), names, nc and
stride: a ``YOLOv5Checkpoint``.
"""

from __future__ import annotations

import pickle
import types
import warnings
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path

import torch

from yolo_attn.errors import UsageError

__all__ = ("YOLOv5Checkpoint", "YOLOv5Object", "UnsafeCheckpointError", "is_yolov5_checkpoint",
           "read_yolov5_checkpoint", "read_yolov5_checkpoint_or_usage_error", "yolov5_layout", "MAX_NC")

MAX_NC = 10_000  # classes a checkpoint may claim (range(nc) of a crafted 10**10 would eat the memory)

# Module prefixes of YOLOv5's classes: the repository (run from its root) and the packaged copy on PyPI.
REPOSITORY_PREFIXES = ("models.", "utils.")
PACKAGED_PREFIXES = ("yolov5.models.", "yolov5.utils.")
HEAD_MODULES = {"models.yolo", "yolov5.models.yolo"}  # where YOLOv5's Model/DetectionModel and Detect live

# Globals that rebuild tensors and plain data; nothing here runs code of the checkpoint's choosing.
_DATA_GLOBALS = {
    ("collections", "OrderedDict"), ("builtins", "set"), ("builtins", "frozenset"), ("builtins", "slice"),
    ("__builtin__", "set"), ("__builtin__", "frozenset"), ("__builtin__", "slice"),
    ("torch", "Size"), ("torch", "device"),
    ("numpy", "ndarray"), ("numpy", "dtype"), ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "_reconstruct"), ("numpy.core.multiarray", "scalar"),
    ("numpy._core.multiarray", "scalar"),
    ("pathlib", "PosixPath"), ("pathlib", "WindowsPath"), ("pathlib", "Path"), ("pathlib", "PurePosixPath"),
    ("pathlib", "PureWindowsPath"), ("pathlib._local", "PosixPath"), ("pathlib._local", "WindowsPath"),
    ("argparse", "Namespace"),
}


class UnsafeCheckpointError(pickle.UnpicklingError):
    """The checkpoint's pickle names a global that is neither a YOLOv5/torch.nn class nor tensor or plain data."""


def _unsafe(what: str) -> UnsafeCheckpointError:
    return UnsafeCheckpointError(f"{what}: a YOLOv5 checkpoint holds only YOLOv5/torch.nn modules, tensors and plain "
                                 "data, so this file is not one (or was tampered with); it was not loaded")


# torch's dtypes by name: checked BEFORE any getattr(torch, name) (which may import torch submodules)
_TORCH_DTYPES = frozenset({"float16", "float32", "float64", "bfloat16", "half", "float", "double", "int8", "int16",
                           "int32", "int64", "uint8", "bool", "long", "int", "short", "complex64", "complex128"})


def _no_hooks(hooks, metadata=None) -> None:
    if hooks or metadata:
        raise _unsafe("a tensor with backward hooks or metadata")


def _rebuild_tensor_v2(storage, offset, size, stride, requires_grad, backward_hooks, metadata=None):
    from torch._utils import _rebuild_tensor_v2 as rebuild

    _no_hooks(backward_hooks, metadata)
    return rebuild(storage, offset, size, stride, requires_grad, OrderedDict())


def _rebuild_tensor(storage, offset, size, stride):
    from torch._utils import _rebuild_tensor as rebuild

    return rebuild(storage, offset, size, stride)


def _rebuild_parameter(data, requires_grad, backward_hooks):
    _no_hooks(backward_hooks)
    return torch.nn.Parameter(data, requires_grad)


def _rebuild_parameter_with_state(data, requires_grad, backward_hooks, state):
    """As torch's, but a parameter with extra state (attributes the loader would then find and call) is refused."""
    _no_hooks(backward_hooks, state)
    return torch.nn.Parameter(data, requires_grad)


def _encode(text, encoding="utf-8", errors="strict"):  # protocol-2 pickles store bytes as latin-1 text through it
    if not isinstance(text, str) or encoding not in ("latin1", "latin-1"):
        raise _unsafe(f"_codecs.encode with '{encoding}'")
    return text.encode("latin1")


_SAFE_FUNCTIONS = {
    ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor_v2, ("torch._utils", "_rebuild_tensor"): _rebuild_tensor,
    ("torch._utils", "_rebuild_parameter"): _rebuild_parameter,
    ("torch._utils", "_rebuild_parameter_with_state"): _rebuild_parameter_with_state, ("_codecs", "encode"): _encode,
}


class InertAttribute:
    """What ``getattr(<YOLOv5 object or class>, 'forward')`` becomes: a record of the name, never callable."""

    def __init__(self, source: str, name: str):
        self.source, self.name = source, name

    def __repr__(self):
        return f"<{self.source}.{self.name} (not loaded)>"


def _inert_getattr(obj, name):
    """``builtins.getattr`` for the one use YOLOv5 makes of it (``m.forward = m.forward_fuse``, ``Segment.detect =
    Detect.forward``): only on a placeholder, only those names."""
    is_placeholder = isinstance(obj, YOLOv5Object) or (isinstance(obj, type) and issubclass(obj, YOLOv5Object))
    if not is_placeholder or name not in ("forward", "forward_fuse"):
        raise _unsafe(f"refused getattr({type(obj).__name__}, {name!r})")
    return InertAttribute(obj.source, name)


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
        if not isinstance(state, dict):
            raise _unsafe(f"a {type(state).__name__} as the state of {self.source}")
        bad = [k for k in state if not isinstance(k, str) or k.startswith("__") or k == "source"]
        if bad:  # a __setstate__ key would make a second BUILD call it; source is the class's own
            raise _unsafe(f"state key {bad[0]!r} in {self.source}")
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


def _ours() -> set[str]:
    """Class paths of yolo_attn's module classes (what ``python -m yolo_attn.yolov5`` checkpoints pickle)."""
    from yolo_attn.checkpoint.allow import safe_class_paths

    return safe_class_paths()


class _RestrictedUnpickler(pickle.Unpickler):
    def find_class(self, module, name):
        if (module, name) in _DATA_GLOBALS:
            return super().find_class(module, name)
        if (module, name) in _SAFE_FUNCTIONS:
            return _SAFE_FUNCTIONS[(module, name)]
        if module == "torch" and name in _TORCH_DTYPES:  # torch.float16 ...: the name is checked before getattr
            return getattr(torch, name)
        if module in ("builtins", "__builtin__") and name == "getattr":
            return _inert_getattr
        ours = module.startswith("yolo_attn.models.") and f"{module}.{name}" in _ours()
        if (ours or _is_module_class(module)) and name.isidentifier() and not name.startswith("_"):
            return _placeholder(module, name)
        raise _unsafe(f"refused to load global '{module}.{name}'")


# torch.load(pickle_module=...) needs a module-like object with Unpickler (and load for the legacy format).
_PICKLE_MODULE = types.SimpleNamespace(
    Unpickler=_RestrictedUnpickler, load=lambda f, **kw: _RestrictedUnpickler(f, **kw).load(), __name__="yolo_attn_v5"
)


def _pickled_globals(path) -> set[str]:
    """Module paths of the globals a checkpoint's pickle names (``yolo_attn.checkpoint.scan_checkpoint``: the whole
    zip or legacy file is checked, nothing is run); ``UsageError`` for a file that is no checkpoint."""
    from yolo_attn.checkpoint.scan import scan_checkpoint

    return scan_checkpoint(path).modules


def yolov5_layout(path) -> str | None:
    """'repository' (``models.yolo``), 'packaged' (``yolov5.models.yolo``) or None (not a YOLOv5 checkpoint, or
    refused by the format check: the safe loader then says why)."""
    try:
        mods = _pickled_globals(path)
    except UsageError:
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
    train_imgsz: int | None = None  # opt.imgsz (opt.img_size before v5.0) of the YOLOv5 run that saved it

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
    if isinstance(nc, bool) or not isinstance(nc, int) or not 0 < nc <= MAX_NC:
        raise ValueError(f"the checkpoint says nc {nc!r}; a detector has 1 to {MAX_NC:,} classes")
    if isinstance(names, dict):
        return {int(k): str(v) for k, v in names.items()}
    if isinstance(names, (list, tuple)):
        return {i: str(n) for i, n in enumerate(names)}
    return {i: f"class{i}" for i in range(nc)}


def read_yolov5_checkpoint(path) -> YOLOv5Checkpoint:
    """Read a checkpoint saved by YOLOv5 (see the module docstring); raise ``UnsafeCheckpointError`` on a foreign
    global and ``ValueError`` when the file holds no YOLOv5 model object."""
    from yolo_attn.checkpoint.scan import scan_checkpoint

    path = str(path)
    scan_checkpoint(path)  # TorchScript, crafted zips, caps: UsageError before any unpickling
    try:
        with warnings.catch_warnings():  # the legacy format warns that placeholders have no source code
            warnings.filterwarnings("ignore", message="Couldn't retrieve source code", category=UserWarning)
            ckpt = torch.load(path, map_location="cpu", pickle_module=_PICKLE_MODULE, weights_only=False)
    except (AssertionError, AttributeError, TypeError, IndexError, KeyError) as e:  # torch's reader on a crafted pickle
        raise ValueError(f"not a torch.save checkpoint ({type(e).__name__}: {e})") from None
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
    if not isinstance(layers, dict) or not layers:
        raise ValueError(f"{path}: ckpt['{entry}'] has an empty layer list; not a YOLOv5 detection model")
    head = layers[list(layers)[-1]]
    nc = d.get("nc") or d["yaml"].get("nc") or getattr(head, "__dict__", {}).get("nc", 0)
    _names({}, nc)  # nc checked before anything sizes by it
    stride = d.get("stride", getattr(head, "__dict__", {}).get("stride"))
    try:
        stride = [float(s) for s in stride] if stride is not None else []
    except (TypeError, ValueError):
        raise ValueError(f"{path}: ckpt['{entry}'] has stride {stride!r}, not numbers") from None
    classes = {"model": model.source, **{str(k): m.source for k, m in layers.items() if isinstance(m, YOLOv5Object)}}
    mods = {c.rsplit(".", 1)[0] for c in classes.values()}
    return YOLOv5Checkpoint(
        path=path, state_dict=_state_dict(model), yaml=dict(d["yaml"]), names=_names(d.get("names"), nc), nc=nc,
        stride=stride, entry=entry, classes=classes,
        layout="packaged" if any(m.startswith("yolov5.") for m in mods if m in HEAD_MODULES) else "repository",
        epoch=ckpt.get("epoch") if isinstance(ckpt.get("epoch"), int) else None,
        train_imgsz=_train_imgsz(ckpt.get("opt")),
    )


def _train_imgsz(opt) -> int | None:
    """The training image size in ``ckpt['opt']`` (train.py's ``vars(opt)``): ``imgsz`` (an int since v5.0) or
    ``img_size`` (``[train, test]`` before); None when absent or not a plausible size."""
    if not isinstance(opt, dict):
        return None
    size = opt.get("imgsz", opt.get("img_size"))
    if isinstance(size, (list, tuple)) and size:
        size = size[0]
    return size if isinstance(size, int) and not isinstance(size, bool) and 32 <= size <= 8192 else None


def read_yolov5_checkpoint_or_usage_error(ckpt, label: str | None = None) -> YOLOv5Checkpoint:
    """A ``YOLOv5Checkpoint`` from a path (or one already read); a refused or unreadable file raises ``UsageError``
    (one line naming the file)."""
    if isinstance(ckpt, YOLOv5Checkpoint):
        return ckpt
    label = label or f"checkpoint {ckpt}"
    try:
        return read_yolov5_checkpoint(ckpt)
    except UsageError as e:  # the format check names the path; name it as the caller does
        raise UsageError(str(e).replace(str(ckpt), label, 1) if label != str(ckpt) else str(e)) from None
    except UnsafeCheckpointError as e:
        raise UsageError(f"{label}: {e}") from None
    except (ValueError, RuntimeError, OSError, EOFError, pickle.UnpicklingError) as e:
        raise UsageError(f"{label}: a YOLOv5 checkpoint that could not be read ({type(e).__name__}: {e})") from None

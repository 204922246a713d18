"""A corpus of hostile checkpoints, built in the tests (nothing downloaded): every one would write ``marker`` if any
of its code ran. ``build_corpus(folder, marker)`` returns ``{name: path}``."""

from __future__ import annotations

import io
import os
import pickle
import sys
import types
import zipfile
from pathlib import Path

import torch

LEGACY_MAGIC = 0x1950A86A20F9469CFC6C


class Evil:
    def __init__(self, cmd):
        self.cmd = cmd

    def __reduce__(self):
        return os.system, (self.cmd,)


def _touch(marker: Path) -> str:
    return f"touch {marker}"


def _g(module: str, name: str) -> bytes:
    return b"c" + module.encode() + b"\n" + name.encode() + b"\n"


def _s(text: str) -> bytes:
    b = text.encode()
    return b"X" + len(b).to_bytes(4, "little") + b


def _call(module: str, name: str, *args: str) -> bytes:
    """Opcodes pushing module.name(*args) (GLOBAL, MARK, strings, TUPLE, REDUCE)."""
    return _g(module, name) + b"(" + b"".join(_s(a) for a in args) + b"tR"


def _dict(key: str, value: bytes) -> bytes:
    return b"}" + _s(key) + value + b"s"


def _with_route(value: bytes, yolov5: bool) -> bytes:
    """A protocol-2 pickle of {'route': <a YOLOv5 class, so the file looks like YOLOv5's>, 'model': value}."""
    route = _g("models.yolo", "DetectionModel") + b")\x81" if yolov5 else b"N"
    return b"\x80\x02}" + _s("route") + route + b"s" + _s("model") + value + b"s."


def legacy_file(path: Path, main_pickle: bytes) -> Path:
    """torch's legacy (non-zip) format around a raw main pickle: magic, protocol, sys info, the object, keys."""
    with open(path, "wb") as f:
        for obj in (LEGACY_MAGIC, 1001, {"protocol_version": 1001, "little_endian": True,
                                         "type_sizes": {"short": 2, "int": 4, "long": 4}}):
            pickle.dump(obj, f, protocol=2)
        f.write(main_pickle)
        pickle.dump([], f, protocol=2)
    return path


def zip_file(path: Path, main_pickle: bytes, extra: dict | None = None, first: dict | None = None,
             compress=zipfile.ZIP_STORED) -> Path:
    """torch.save's zip layout (``archive/data.pkl``, ``archive/version``) around a raw pickle."""
    with zipfile.ZipFile(path, "w", compression=compress) as z:
        for name, data in (first or {}).items():
            z.writestr(name, data)
        z.writestr("archive/data.pkl", main_pickle)
        z.writestr("archive/version", "3\n")
        z.writestr("archive/byteorder", "little")
        for name, data in (extra or {}).items():
            z.writestr(name, data)
    return path


def _fake_module(name: str, **classes):
    mod = types.ModuleType(name)
    for k, v in classes.items():
        v.__module__, v.__qualname__ = name, k
        setattr(mod, k, v)
    return mod


def yolov5_like(path: Path, nc=4, extra: dict | None = None, legacy: bool = False, layers: int = 1) -> Path:
    """A checkpoint shaped like YOLOv5's (classes pickled under ``models.yolo``/``models.common``), without YOLOv5."""
    class DetectionModel:  # noqa: N801
        pass

    class Detect:
        pass

    class Sequential:
        pass

    mods = {"models": types.ModuleType("models"),
            "models.yolo": _fake_module("models.yolo", DetectionModel=DetectionModel, Detect=Detect),
            "torch.nn.modules.container.fake": _fake_module("torch.nn.modules.container.fake", Sequential=Sequential)}
    saved = {k: sys.modules.get(k) for k in mods}
    sys.modules.update(mods)
    try:
        head = Detect()
        head.__dict__.update(nc=nc, stride=torch.tensor([8.0]), _parameters={}, _buffers={}, _modules={})
        seq = Sequential()
        seq.__dict__.update(_parameters={}, _buffers={}, _modules={str(i): head for i in range(layers)})
        m = DetectionModel()
        m.__dict__.update(yaml={"nc": nc, "backbone": [], "head": []}, names=None, _parameters={}, _buffers={},
                          _modules={"model": seq})
        torch.save({"model": m, "ema": None, "epoch": 1, **(extra or {})}, path,
                   _use_new_zipfile_serialization=not legacy)
    finally:
        for k, v in saved.items():
            if v is None:
                sys.modules.pop(k, None)
            else:
                sys.modules[k] = v
    return path


def torchscript_decoy(path: Path, marker: Path) -> Path:
    """A TorchScript archive whose module's ``__setstate__`` creates ``marker`` on load (torch.from_file, shared), with
    a first entry ``archive/decoydata.pkl`` naming ``models.yolo`` (what fooled a first-``*data.pkl`` check)."""
    from typing import Tuple

    class Writer(torch.nn.Module):
        def __init__(self, p: str):
            super().__init__()
            self.p = p

        def forward(self, x):
            return x

        @torch.jit.export
        def __getstate__(self) -> Tuple[str, bool]:
            return (self.p, self.training)

        @torch.jit.export
        def __setstate__(self, state: Tuple[str, bool]) -> None:
            self.p = state[0]
            self.training = state[1]
            torch.from_file(self.p, shared=True, size=8)

    buf = io.BytesIO()
    torch.jit.save(torch.jit.script(Writer(str(marker))), buf)
    buf.seek(0)
    with zipfile.ZipFile(buf) as src:
        entries = [(i.filename, src.read(i)) for i in src.infolist()]
    root = entries[0][0].split("/", 1)[0]
    decoy = _with_route(b"N", yolov5=True)
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED) as z:
        z.writestr(f"{root}/decoydata.pkl", decoy)
        for name, data in entries:
            z.writestr(name, data)
    return path


def build_corpus(folder: Path, marker: Path) -> dict[str, Path]:
    """Every hostile kind of issue 26, zip and legacy where the format matters."""
    folder.mkdir(parents=True, exist_ok=True)
    touch = _touch(marker)
    c = {}
    evil = Evil(touch)
    torch.save({"model": evil}, folder / "reduce-zip.pt")
    c["reduce-zip"] = folder / "reduce-zip.pt"
    torch.save({"model": evil}, folder / "reduce-legacy.pt", _use_new_zipfile_serialization=False)
    c["reduce-legacy"] = folder / "reduce-legacy.pt"
    c["yolov5-plus-evil"] = yolov5_like(folder / "yolov5-plus-evil.pt", extra={"x": evil})
    c["yolov5-plus-evil-legacy"] = yolov5_like(folder / "yolov5-plus-evil-legacy.pt", extra={"x": evil}, legacy=True)
    c["torchscript-decoy"] = torchscript_decoy(folder / "torchscript-decoy.pt", marker)
    # BUILD gadget: a YOLOv5 placeholder given a __setstate__ key, then a second BUILD would call it
    gadget = (_g("models.yolo", "DetectionModel") + b")\x81" + _dict("__setstate__", _g("collections", "OrderedDict"))
              + b"b" + _s(touch) + b"b")
    c["setstate-gadget"] = zip_file(folder / "setstate-gadget.pt", _with_route(gadget, yolov5=True))
    # parameter rebuilt with state: arbitrary attributes on a tensor (torch's _rebuild_parameter_with_state)
    c["parameter-state"] = zip_file(folder / "parameter-state.pt", _with_route(
        _g("torch._utils", "_rebuild_parameter_with_state") + b"(" + _g("torch", "Size") + b")R" + b"\x89" + b"}"
        + _dict("detach", _s(touch)) + b"tR", yolov5=True))
    # look-alike module paths
    for mod, yolov5 in (("models.yolo.os", True), ("yolo_attn.models.os", True), ("yolo_attn.models.os", False),
                        ("ultralytics.nn.modules.os", False)):
        name = f"lookalike-{mod}-{'v5' if yolov5 else 'ul'}"
        c[name] = zip_file(folder / f"{name}.pt", _with_route(_call(mod, "system", touch), yolov5))
    # allow-list widening: functions that would load, save, evaluate or call
    for mod, name, args in (("torch", "save", ("x", str(marker))), ("torch", "load", (str(marker),)),
                            ("builtins", "eval", (f"__import__('os').system('{touch}')",)),
                            ("builtins", "exec", (f"__import__('os').system('{touch}')",)),
                            ("builtins", "getattr", ("os", "system")), ("functools", "partial", ("os",)),
                            ("torch._inductor", "config", ()), ("subprocess", "run", (touch,))):
        for yolov5 in (True, False):
            key = f"widen-{mod}.{name}-{'v5' if yolov5 else 'ul'}"
            c[key] = zip_file(folder / f"{key}.pt", _with_route(_call(mod, name, *args), yolov5))
            if yolov5 and name in ("eval", "getattr"):
                c[key + "-legacy"] = legacy_file(folder / f"{key}-legacy.pt", _with_route(_call(mod, name, *args),
                                                                                         yolov5))
    # denial of service
    c["zip-bomb"] = zip_file(folder / "zip-bomb.pt", b"\x80\x02" + b"N" * (65 * 2**20) + b".",
                             compress=zipfile.ZIP_DEFLATED)
    c["none-flood"] = zip_file(folder / "none-flood.pt", b"\x80\x02" + b"N" * 1_100_000 + b".")
    c["huge-nc-v5"] = yolov5_like(folder / "huge-nc-v5.pt", nc=10**10)
    c["empty-layers-v5"] = yolov5_like(folder / "empty-layers-v5.pt", layers=0)
    c["second-pickle"] = zip_file(folder / "second-pickle.pt", _with_route(b"N", False),
                                  extra={"archive/other.pkl": pickle.dumps(evil)})
    return c

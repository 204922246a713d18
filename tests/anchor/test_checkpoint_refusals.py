"""Crafted YOLOv5-style checkpoints whose pickle names a global that would run code: refused, and nothing ran.

Each file is a real torch.save zip whose data.pkl is written by hand (pickle opcodes), so it can name any global:
``{"model": <call>}`` where the call, if the unpickler let it through, writes a marker file. The reader
(``graph/transfer/yolov5.read_checkpoint_or_usage_error``, which every YOLOv5-checkpoint entry point goes through) must
raise a clear error (UsageError naming the file and the global, or for look-alike module paths that become inert
placeholders, the error that the file holds no YOLOv5 detection model) and the marker must not exist.
"""

import pytest
import torch

from yolo_attn.errors import UsageError
from yolo_attn.graph.transfer.yolov5 import read_checkpoint_or_usage_error


def _g(module: str, name: str) -> bytes:
    return f"c{module}\n{name}\n".encode()  # GLOBAL


def _s(text: str) -> bytes:
    return b"V" + text.encode("raw-unicode-escape") + b"\n"  # UNICODE


def _call(fn: bytes, *args: bytes) -> bytes:
    return fn + b"(" + b"".join(args) + b"tR"  # MARK args TUPLE REDUCE


def _payloads(marker: str, other: str) -> dict:
    path = _call(_g("pathlib", "Path"), _s(marker))  # an allowed global: pathlib.Path(marker)
    return {
        "torch.save": _call(_g("torch", "save"), _s("x"), _s(marker)),
        "torch.load": _call(_g("torch", "load"), _s(other)),
        "builtins.eval": _call(_g("builtins", "eval"), _s(f"open({marker!r}, 'w').close()")),
        "builtins.getattr": _call(_call(_g("builtins", "getattr"), path, _s("touch"))),  # Path(marker).touch()
        "functools.partial": _call(_call(_g("functools", "partial"), _g("builtins", "open"), _s(marker), _s("w"))),
        "builtins.exec": _call(_g("builtins", "exec"), _s(f"open({marker!r}, 'w').close()")),
        "posix.system": _call(_g("posix", "system"), _s(f"touch {marker}")),
        "subprocess.call": _call(_g("subprocess", "call"), _s("touch"), _s(marker)),
        # look-alike module paths: YOLOv5's prefixes with something else after or around them
        "models.yolo.os.system": _call(_g("models.yolo.os", "system"), _s(f"touch {marker}")),
        "yolov5.models.yolo.subprocess.call": _call(_g("yolov5.models.yolo.subprocess", "call"), _s(f"touch {marker}")),
        "torch.nn.modules.os.system": _call(_g("torch.nn.modules.os", "system"), _s(f"touch {marker}")),
        "modelsx.yolo.system": _call(_g("modelsx.yolo", "system"), _s(f"touch {marker}")),
        "torch.nn.modules_evil.system": _call(_g("torch.nn.modules_evil", "system"), _s(f"touch {marker}")),
        "torch._utils.os.system": _call(_g("torch._utils.os", "system"), _s(f"touch {marker}")),
        "torch.serialization.save": _call(_g("torch.serialization", "save"), _s("x"), _s(marker)),
    }


CASES = list(_payloads("m", "o"))
# Look-alikes under YOLOv5's or torch.nn's prefixes become inert placeholders (nothing is called): the file is then
# refused for holding no YOLOv5 model. Every other case is refused when its global is read.
PLACEHOLDERS = {"models.yolo.os.system", "yolov5.models.yolo.subprocess.call", "torch.nn.modules.os.system"}


def _write(path, body: bytes) -> None:
    """A torch.save zip whose data.pkl is ``{"model": <body>}`` (protocol 2)."""
    data = b"\x80\x02}" + _s("model") + body + b"s."  # PROTO 2, EMPTY_DICT, key, value, SETITEM, STOP

    class _RawPickler:
        def __init__(self, buf, protocol=2):
            self.buf = buf

        def dump(self, obj):
            self.buf.write(data)

    torch.save({}, path, pickle_module=type("raw", (), {"Pickler": _RawPickler}))


@pytest.mark.parametrize("case", CASES)
def test_crafted_global_is_refused_and_nothing_runs(tmp_path, case):
    marker, other = tmp_path / "pwned", tmp_path / "other.pt"
    torch.save({"x": 1}, other)
    ckpt = tmp_path / "evil.pt"
    _write(ckpt, _payloads(str(marker), str(other))[case])
    assert b"model" in ckpt.read_bytes()  # a real zip checkpoint
    with pytest.raises(UsageError) as e:
        read_checkpoint_or_usage_error(ckpt)
    msg = str(e.value)
    assert str(ckpt) in msg or "evil.pt" in msg
    if case in PLACEHOLDERS:
        assert any(s in msg for s in ("not a YOLOv5 detection model", "no YOLOv5 model", "refused to load global")), msg
    else:
        module, name = case.rsplit(".", 1)
        # getattr is read as an inert record that allows only a placeholder's forward/forward_fuse (fused YOLOv5 files)
        want = "refused getattr(" if case == "builtins.getattr" else f"refused to load global '{module}.{name}'"
        assert want in msg, msg
    assert not marker.exists()


def test_crafted_file_would_write_the_marker_through_plain_pickle(tmp_path):
    """The payloads are live: loaded without the restricted unpickler, three of them write the marker (this is what
    the refusals above prevent)."""
    for case in ("torch.save", "builtins.getattr", "functools.partial"):
        marker = tmp_path / f"pwned-{case}"
        ckpt = tmp_path / f"{case}.pt"
        _write(ckpt, _payloads(str(marker), str(tmp_path / "o.pt"))[case])
        torch.load(ckpt, weights_only=False)
        assert marker.exists(), case


def test_plain_data_still_loads(tmp_path):
    """The allow list is not 'refuse everything': a torch.Size, a dtype and a tensor pass the unpickler (the file is
    then refused only for holding no YOLOv5 model)."""
    body = _call(_g("torch", "Size"), b"(K\x01K\x02t")  # torch.Size((1, 2))
    ckpt = tmp_path / "data.pt"
    _write(ckpt, body)
    with pytest.raises(UsageError, match="no YOLOv5 model object"):
        read_checkpoint_or_usage_error(ckpt)

"""The format check every checkpoint passes before any unpickler sees it: what the file is, read without running it.

A ``torch.save`` zip holds one pickle, ``<archive>/data.pkl``, beside raw tensor records. The check looks at the whole
zip (every entry, not the first ``*data.pkl``): a TorchScript archive (``constants.pkl``, ``code/``), a second pickle,
a duplicated entry name or several archive folders are refused, because ``torch.load`` would read another pickle than
the one checked (or hand the file to ``torch.jit.load``, which runs its code). A legacy (non-zip) file is a run of
pickles; the first five are read. Caps bound the work a stranger's file can ask for: the pickle's uncompressed size
is read from the zip directory before inflating (zip bomb), and the opcode walk stops at ``MAX_OPCODES``.

The globals the pickle names (``models.yolo.DetectionModel``, ``ultralytics.nn.tasks.DetectionModel``) choose the
reader; the reader, never this scan, is what keeps code from running (a pickle may hide a name from a scan).
"""

from __future__ import annotations

import pickletools
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from yolo_attn.errors import UsageError

__all__ = ("MAX_PICKLE_BYTES", "MAX_OPCODES", "CheckpointScan", "scan_checkpoint")

MAX_PICKLE_BYTES = 64 * 2**20  # a yolov5x / yolo11x data.pkl is well under 1 MiB
MAX_OPCODES = 1_000_000  # a yolov5n checkpoint's pickle has ~25k opcodes, its segmentation model ~40k
_TORCHSCRIPT = ("constants.pkl", "code/", ".data/version")  # what only torch.jit.save writes
_STRING_OPS = {"SHORT_BINUNICODE", "BINUNICODE", "BINUNICODE8", "UNICODE", "STRING", "BINSTRING", "SHORT_BINSTRING"}
_MEMO_PUT = {"PUT", "BINPUT", "LONG_BINPUT"}
_MEMO_GET = {"GET", "BINGET", "LONG_BINGET"}


@dataclass
class CheckpointScan:
    """``kind``: 'zip' or 'legacy'; ``globals``: 'module.name' of every global the pickle(s) name."""

    path: str
    kind: str
    globals: set = field(default_factory=set)

    @property
    def modules(self) -> set:
        return {g.rsplit(".", 1)[0] for g in self.globals}


def _refuse(label: str, what: str) -> UsageError:
    return UsageError(f"{label}: {what}; it was not loaded (give a checkpoint saved by yolo_attn, ultralytics or "
                      "YOLOv5 training)")


def _walk(data, label: str, found: set, budget: list) -> None:
    """Add the globals one pickle names to ``found`` (memo-aware for STACK_GLOBAL); ``budget[0]``: opcodes left."""
    strings, memo = [], {}
    try:
        for op, arg, _ in pickletools.genops(data):
            budget[0] -= 1
            if budget[0] < 0:
                raise _refuse(label, f"its pickle has more than {MAX_OPCODES:,} opcodes, far beyond any model "
                                     "checkpoint (a crafted file)")
            name = op.name
            if name == "GLOBAL":
                found.add(arg.replace(" ", "."))
            elif name == "STACK_GLOBAL":
                found.add(".".join(strings[-2:]) if len(strings) >= 2 else "?.?")
            elif name in _STRING_OPS:
                strings.append(arg if isinstance(arg, str) else repr(arg))
            elif name in _MEMO_PUT and strings:
                memo[arg] = strings[-1]
            elif name == "MEMOIZE" and strings:
                memo[len(memo)] = strings[-1]
            elif name in _MEMO_GET and arg in memo:
                strings.append(memo[arg])
            if name == "STOP":
                return
    except UsageError:
        raise
    except Exception as e:  # pickletools raises ValueError on garbage; the file is no checkpoint then
        raise UsageError(f"{label}: not a readable PyTorch checkpoint, the file is corrupt or truncated "
                         f"({type(e).__name__}: {e})") from None


def _scan_zip(path: str, label: str) -> CheckpointScan:
    with zipfile.ZipFile(path) as z:
        infos = z.infolist()
        names = [i.filename for i in infos]
        if len(set(names)) != len(names):
            raise _refuse(label, "its zip holds two entries of the same name (a crafted file)")
        if any(n.endswith(_TORCHSCRIPT) or "/code/" in n or n.startswith("code/") for n in names):
            raise UsageError(f"{label}: a TorchScript archive, not a checkpoint; loading it would run its code, so it "
                             "was not loaded (give the .pt saved by training; a TorchScript export is loaded with "
                             "torch.jit.load by whoever trusts it)")
        roots = {n.split("/", 1)[0] for n in names}
        pkls = [i for i in infos if i.filename.endswith(".pkl")]
        if len(roots) != 1 or len(pkls) != 1 or pkls[0].filename != f"{next(iter(roots))}/data.pkl":
            raise _refuse(label, f"its zip is not torch.save's layout (one folder with one data.pkl; found pickles "
                                 f"{[i.filename for i in pkls][:4]} in {len(roots)} folder(s))")
        info = pkls[0]
        if info.file_size > MAX_PICKLE_BYTES:
            raise _refuse(label, f"its pickle inflates to {info.file_size:,} bytes (over {MAX_PICKLE_BYTES:,}: a zip "
                                 "bomb, not a model)")
        with z.open(info) as f:
            data = f.read(MAX_PICKLE_BYTES + 1)
    if len(data) > MAX_PICKLE_BYTES:  # the directory lied about the size
        raise _refuse(label, f"its pickle inflates past {MAX_PICKLE_BYTES:,} bytes (a zip bomb, not a model)")
    found = set()
    _walk(data, label, found, [MAX_OPCODES])
    return CheckpointScan(path, "zip", found)


def _scan_legacy(path: str, label: str) -> CheckpointScan:
    """torch's legacy format: magic number, protocol, sys info, the object, storage keys (then raw bytes)."""
    found, budget = set(), [MAX_OPCODES]
    with open(path, "rb") as f:
        for _ in range(5):
            _walk(f, label, found, budget)
    return CheckpointScan(path, "legacy", found)


def scan_checkpoint(path, label: str | None = None) -> CheckpointScan:
    """Check ``path`` (module docstring); ``UsageError`` naming the file for a missing, TorchScript, crafted or
    oversized one."""
    label = label or str(path)
    p = Path(path)
    if not p.is_file():
        raise UsageError(f"{label}: no such file (nothing is downloaded; give a local .pt)")
    try:
        with open(p, "rb") as f:
            zipped = f.read(4) == b"PK\x03\x04"  # what torch.load tests; a zip appended to a pickle is no zip to it
        if zipped:
            return _scan_zip(str(p), label)
        return _scan_legacy(str(p), label)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, NotImplementedError, RuntimeError) as e:
        raise UsageError(f"{label}: not a readable PyTorch checkpoint, the file is corrupt or truncated "
                         f"({type(e).__name__}: {e})") from None


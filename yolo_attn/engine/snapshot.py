"""A copy of a run folder taken before a call that may write into it, to put it back byte for byte if the call fails.

Checkpoints (``*.pt``, the bulk of a run) are not copied: ultralytics writes them only at the end of an epoch, and a
call that got that far is not undone (``yolo_attn.engine.runguard``). Every other file is copied with its times.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

__all__ = ("Snapshot",)


def _stat(p: Path) -> tuple:
    st = p.stat()
    return st.st_size, st.st_mtime_ns


class Snapshot:
    """Files of ``folder`` now; ``restore()`` removes what was added and puts back what changed or went missing."""

    def __init__(self, folder):
        self.folder = Path(folder).resolve()
        self.copy = Path(tempfile.mkdtemp(prefix="yolo_attn_snapshot_"))
        self.files, self.dirs = {}, set()
        for p in self.folder.rglob("*"):
            rel = p.relative_to(self.folder)
            if p.is_dir() and not p.is_symlink():
                self.dirs.add(rel)
            elif p.is_file():
                self.files[rel] = _stat(p)
                if p.suffix != ".pt":
                    (self.copy / rel).parent.mkdir(parents=True, exist_ok=True)
                    shutil.copy2(p, self.copy / rel)

    def restore(self) -> list[str]:
        """Put the folder back; return the paths (relative) that could not be restored (changed checkpoints)."""
        lost = []
        if self.folder.is_dir():
            for p in sorted(self.folder.rglob("*"), reverse=True):  # children before their folders
                rel = p.relative_to(self.folder)
                if p.is_dir() and not p.is_symlink():
                    if rel not in self.dirs:
                        shutil.rmtree(p, ignore_errors=True)
                elif rel not in self.files:
                    p.unlink()
        for rel, st in self.files.items():
            p, saved = self.folder / rel, self.copy / rel
            if p.is_file() and _stat(p) == st:
                continue
            if saved.is_file():
                p.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(saved, p)
            else:
                lost.append(str(rel))
        for rel in self.dirs:
            (self.folder / rel).mkdir(parents=True, exist_ok=True)
        return lost

    def discard(self) -> None:
        shutil.rmtree(self.copy, ignore_errors=True)

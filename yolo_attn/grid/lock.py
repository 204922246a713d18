"""One grid (or search) per folder at a time: a lock file ``GRID/.grid.lock`` naming the process that holds it.

Two identical ``ablate_attn.py`` commands (same ``--project``/``--name``) used to train every cell twice into the same
folders (duplicate epoch rows, weights from whichever finished last). ``grid_lock(grid_dir)`` takes the lock before
anything is written: a second command gets one ``error:`` line naming the holder (pid, host, start time) and exits 2.
A lock left by a process that is gone (its pid is dead on this host: a kill -9, a power cut) is taken over with a
note; a lock from another host is never guessed stale (the cluster's shared storage cannot tell us), the message says
how to remove it.
"""

from __future__ import annotations

import json
import os
import socket
import sys
import time
from contextlib import contextmanager
from pathlib import Path

from yolo_attn.errors import UsageError

__all__ = ("LOCK_NAME", "grid_lock", "read_lock")

LOCK_NAME = ".grid.lock"


def _alive(pid: int) -> bool:
    """Whether process ``pid`` exists on this host (signal 0 checks without sending anything)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    except OSError:
        return False
    return True


def read_lock(file) -> dict:
    """The holder recorded in a lock file ({} when unreadable: a lock being written right now counts as held)."""
    try:
        rec = json.loads(Path(file).read_text())
    except (OSError, ValueError):
        return {}
    return rec if isinstance(rec, dict) else {}


def _holder(rec: dict) -> str:
    started = rec.get("started")
    when = time.strftime("%Y-%m-%d %H:%M:%S %Z", time.localtime(started)) if isinstance(started, (int, float)) else "?"
    return f"pid {rec.get('pid', '?')} on host {rec.get('host', '?')}, started {when}"


def _try_create(file: Path, rec: dict) -> bool:
    """Create the lock file atomically (O_EXCL); False when it already exists."""
    try:
        fd = os.open(file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    except FileExistsError:
        return False
    with os.fdopen(fd, "w") as f:
        f.write(json.dumps(rec) + "\n")
    return True


def _stale(rec: dict) -> bool:
    """A lock of this host whose process is gone."""
    pid = rec.get("pid")
    return rec.get("host") == socket.gethostname() and isinstance(pid, int) and pid != os.getpid() and not _alive(pid)


@contextmanager
def grid_lock(grid_dir, what: str = "grid", echo=None):
    """Hold ``GRID/.grid.lock`` for the block; ``UsageError`` when another live process holds it.

    Creates ``grid_dir`` if needed; on leaving, removes the lock and the folders this call created (the grid folder,
    ``--project``) that stayed empty (a refused Ray join leaves no half-made grid).
    """
    grid_dir = Path(grid_dir).absolute()
    made = [d for d in (grid_dir, *grid_dir.parents) if not d.exists()]  # the folders this call creates, deepest first
    grid_dir.mkdir(parents=True, exist_ok=True)
    file = grid_dir / LOCK_NAME
    rec = {"pid": os.getpid(), "host": socket.gethostname(), "started": time.time(), "what": what,
           "argv": sys.argv[:]}
    if not _try_create(file, rec):
        old = read_lock(file)
        if not _stale(old):
            raise UsageError(
                f"{grid_dir}: another {old.get('what', 'grid')} is running in this folder ({_holder(old)}; lock file "
                f"{file}); wait for it to finish or use another --name; if that process is gone, delete the lock file")
        file.unlink(missing_ok=True)  # the holder is dead: take over (O_EXCL again, so two takers cannot both win)
        if not _try_create(file, rec):
            raise UsageError(f"{grid_dir}: another {what} took over this folder's stale lock just now ({file}); "
                             f"wait for it to finish or use another --name")
        (echo or print)(f"{what}: note: took over the lock of {_holder(old)}, which is no longer running", flush=True)
    try:
        yield file
    finally:
        if read_lock(file).get("pid") == os.getpid():
            file.unlink(missing_ok=True)
        for d in made:  # a refused start leaves no folder behind (not even --project)
            if d.is_dir() and not any(d.iterdir()):
                d.rmdir()

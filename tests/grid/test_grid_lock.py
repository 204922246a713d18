"""Grids cannot corrupt each other: one lock per grid folder (holder named, exit 2, nothing written; a dead holder's
lock taken over), and no callable Ray can swap (``builtins.print``) pickled into Tune."""

import builtins
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import subprocess_env
from yolo_attn.errors import UsageError
from yolo_attn.grid.lock import LOCK_NAME, grid_lock, read_lock

ROOT = Path(__file__).resolve().parents[2]


def _files(folder: Path) -> dict:
    return {str(p.relative_to(folder)): (p.stat().st_size, p.stat().st_mtime_ns) for p in folder.rglob("*")}


@pytest.fixture
def holder():
    """A live process of this host that 'holds' a grid (its pid written into the lock file by the test)."""
    p = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    yield p
    p.kill()
    p.wait()


def _write_lock(grid: Path, pid: int, host=None, started=1_699_963_200.0):
    grid.mkdir(parents=True, exist_ok=True)
    (grid / LOCK_NAME).write_text(json.dumps({"pid": pid, "host": host or socket.gethostname(), "started": started,
                                              "what": "grid"}))


def test_second_grid_names_the_holder_exits_2_and_writes_nothing(tmp_path, holder):
    grid = tmp_path / "runs" / "g"
    _write_lock(grid, holder.pid)
    before = _files(tmp_path)
    env = subprocess_env()
    env.pop("RAY_ADDRESS", None)
    r = subprocess.run([sys.executable, str(ROOT / "ablate_attn.py"), "--attn", "SE", "--at", "neck", "--seed", "0",
                        "--project", str(tmp_path / "runs"), "--name", "g", "--epochs", "1", "--imgsz", "64"],
                       capture_output=True, text=True, env=env, cwd=tmp_path, timeout=300)
    assert r.returncode == 2, r.stdout[-2000:] + r.stderr[-2000:]
    errors = [ln for ln in r.stderr.splitlines() if ln.startswith("error:")]
    assert len(errors) == 1 and "Traceback" not in r.stderr
    assert f"pid {holder.pid} on host {socket.gethostname()}, started 2023-11-14" in errors[0]
    assert "another grid is running" in errors[0]
    assert _files(tmp_path) == before  # nothing written, the holder's lock untouched


def test_live_holder_refused_in_process(tmp_path, holder):
    _write_lock(tmp_path / "g", holder.pid)
    with pytest.raises(UsageError, match=f"pid {holder.pid}"):
        with grid_lock(tmp_path / "g"):
            pass
    assert read_lock(tmp_path / "g" / LOCK_NAME)["pid"] == holder.pid


def test_stale_lock_of_a_dead_pid_is_taken_over_with_a_note(tmp_path):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    _write_lock(tmp_path / "g", dead.pid)
    lines = []
    with grid_lock(tmp_path / "g", echo=lambda *a, **k: lines.append(" ".join(map(str, a)))) as f:
        assert read_lock(f)["pid"] == os.getpid()
    assert len(lines) == 1 and f"took over the lock of pid {dead.pid}" in lines[0]
    assert not (tmp_path / "g" / LOCK_NAME).exists()  # released at the end


def test_a_lock_of_another_host_is_never_guessed_stale(tmp_path):
    _write_lock(tmp_path / "g", 999_999_999, host="another-node")
    with pytest.raises(UsageError, match="host another-node"):
        with grid_lock(tmp_path / "g"):
            pass


def test_lock_released_and_new_folder_removed_when_nothing_was_written(tmp_path):
    grid = tmp_path / "runs" / "g"
    with pytest.raises(RuntimeError):
        with grid_lock(grid):
            assert (grid / LOCK_NAME).is_file()
            raise RuntimeError("e.g. a refused Ray join")
    assert not grid.exists() and not grid.parent.exists()  # --project too: it did not exist before
    with grid_lock(grid):
        (grid / "cells.csv").write_text("x")
    assert (grid / "cells.csv").is_file() and not (grid / LOCK_NAME).exists()
    with grid_lock(grid):  # a second grid after the first ended: free
        pass


def test_progress_callback_pickles_after_ray_replaced_print(monkeypatch):
    """Ray's tqdm_ray swaps builtins.print in the driver; the callback Tune pickles must not hold the old one."""
    from ray import cloudpickle
    from ray.experimental import tqdm_ray

    from yolo_attn.grid.run import _DRIVER_PROGRESS, _callback, _Progress

    original = builtins.print
    monkeypatch.setattr(builtins, "print", tqdm_ray.safe_print)  # what tqdm_ray.instance() does
    lines = []
    progress = _Progress(2, 0, echo=original)
    cb = _callback(progress)
    blob = cloudpickle.dumps(cb)  # the PicklingError of issue 26 was raised here
    assert b"safe_print" not in blob
    progress.echo = lambda *a, **k: lines.append(" ".join(map(str, a)))
    trial = type("T", (), {"config": {"cell": {"name": "c0", "argv": ["--epochs", "2"]}}, "last_result": {}})()
    cloudpickle.loads(blob).on_trial_start(0, [], trial)  # a restored copy still reports on the driver
    assert lines and "started c0" in lines[0]
    _DRIVER_PROGRESS.pop(id(progress), None)

"""A real local Ray grid (2 tiny cells) whose driver had ``builtins.print`` swapped by Ray's tqdm_ray before the
Tuner was built (the PicklingError of issue 26); a second identical grid started meanwhile is refused by the lock;
the rerun of the finished grid starts no Ray and times nothing (issue 30 item 6)."""

import csv
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from conftest import subprocess_env
from yolo_attn.data.shapes_hard import make_hard_dataset

pytestmark = pytest.mark.slow  # trains two grid cells

ROOT = Path(__file__).resolve().parents[2]
os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"
os.environ["RAY_CHDIR_TO_TRIAL_DIR"] = "0"

# run.py is imported first (its ``echo=print`` default is the builtin), then Ray's tqdm_ray swaps builtins.print
DRIVER = textwrap.dedent("""
    import builtins, sys
    import yolo_attn.grid.run
    from ray.experimental import tqdm_ray
    tqdm_ray.instance()  # what Ray's log thread does on a worker's tqdm line: builtins.print = safe_print
    assert builtins.print is tqdm_ray.safe_print
    from yolo_attn.cli.guard import run_script, script_main
    from yolo_attn.cli.ablate import main
    run_script(script_main(main, ""))
""")


def _env():
    env = subprocess_env()
    env.pop("RAY_ADDRESS", None)
    return env


def test_swapped_print_lock_and_a_rerun_without_ray(tmp_path, monkeypatch):
    data = make_hard_dataset(tmp_path / "data", n_train=4, n_val=2, imgsz=64)
    args = ["--attn", "SE", "--at", "neck", "--seed", "0", "--project", str(tmp_path / "runs"), "--name", "g",
            "--data", str(data), "--latency-runs", "1", "--epochs", "1", "--imgsz", "64", "--batch-size", "4",
            "--workers", "0", "plots=False"]
    grid = tmp_path / "runs" / "g"
    first = subprocess.Popen([sys.executable, "-c", DRIVER, *args], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                             text=True, env=_env(), cwd=tmp_path)
    try:
        for _ in range(600):
            if (grid / ".grid.lock").is_file() or first.poll() is not None:
                break
            time.sleep(0.5)
        second = subprocess.run([sys.executable, str(ROOT / "ablate_attn.py"), *args], capture_output=True, text=True,
                                env=_env(), cwd=tmp_path, timeout=300)
        out, _ = first.communicate(timeout=900)
    finally:
        if first.poll() is None:
            first.kill()
    assert first.returncode == 0, out[-4000:]
    assert "PicklingError" not in out
    assert second.returncode == 2, second.stdout[-2000:] + second.stderr[-2000:]
    err = [ln for ln in second.stderr.splitlines() if ln.startswith("error:")]
    assert len(err) == 1 and f"pid {first.pid} on host" in err[0], second.stderr[-2000:]
    assert "grid:" not in second.stdout  # refused before it planned, joined Ray or wrote anything
    cells = {r["cell"]: r for r in csv.DictReader((grid / "cells.csv").open())}
    assert {r["status"] for r in cells.values()} == {"finished"} and len(cells) == 2
    for ep in ("yolov5n-seed0", "yolov5n-se-neck-seed0"):
        assert len(list(csv.DictReader((grid / ep / "results.csv").open()))) == 1  # trained once, not twice
    lat_before = {r["config"]: r["latency_ms"] for r in csv.DictReader((grid / "comparison.csv").open())}
    assert all(v != "" for v in lat_before.values())

    # the rerun, in this process: Ray must not start, nothing is timed again
    import ray

    import yolo_attn.analysis.latency_cache as cache
    from yolo_attn.cli.ablate import main

    def no_ray(*a, **k):
        raise AssertionError("ray.init called on a rerun of a finished grid")

    def no_timing(*a, **k):
        raise AssertionError("latency measured again on a rerun of a finished grid")

    monkeypatch.setattr(ray, "init", no_ray)
    monkeypatch.setattr(cache, "measure_latencies", no_timing)
    monkeypatch.chdir(tmp_path)
    t0 = time.time()
    report = main(args)
    assert not ray.is_initialized()
    assert {c["this_run"] for c in report["cells"]} == {"skipped"}
    lat_after = {r["config"]: r["latency_ms"] for r in csv.DictReader((grid / "comparison.csv").open())}
    assert lat_after == lat_before
    assert time.time() - t0 < 120  # seconds, not minutes (a loaded shared machine: generous)
    assert not (grid / ".grid.lock").exists()

"""Ablation grids on a real local Ray cluster (``ablate_attn.py``): tiny cells (4 images, imgsz 64, 1-2 epochs).

One grid of 2 modules x 2 placements x 1 seed + base is trained once (module fixture) and then rerun, extended with a
failing cell, compared with a ``train_attn.py`` run of the same cell; a second grid is killed mid-cell and rerun; a
third runs on a simulated two-node cluster. Ray stays on 127.0.0.1 (RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0).
"""

import csv
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
import yaml

from conftest import subprocess_env
from yolo_attn.data.shapes_hard import make_hard_dataset

import ray  # noqa: E402  (a test dependency: .ci/run installs the [ray] extra)

pytestmark = pytest.mark.slow  # every test here trains grid cells

ROOT = Path(__file__).resolve().parents[2]
TINY = ["--epochs", "1", "--imgsz", "64", "--batch-size", "4", "--workers", "0", "plots=False"]
os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"  # node IP 127.0.0.1: no traffic off loopback
os.environ["RAY_CHDIR_TO_TRIAL_DIR"] = "0"


def _env(**extra):
    env = subprocess_env(**extra)
    env.pop("RAY_ADDRESS", None)  # a local cluster of the test's own
    return env


def _ablate(args, cwd, timeout=600, **popen):
    cmd = [sys.executable, str(ROOT / "ablate_attn.py"), *args]
    return subprocess.run(cmd, capture_output=True, text=True, env=_env(), cwd=cwd, timeout=timeout, **popen)


def _cells(grid: Path) -> dict:
    return {r["cell"]: r for r in csv.DictReader((grid / "cells.csv").open())}


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return make_hard_dataset(tmp_path_factory.mktemp("hard") / "data", n_train=4, n_val=2, imgsz=64)


@pytest.fixture(scope="module")
def grid(data, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("grid")
    args = ["--attn", "SE,SimAM", "--at", "backbone,neck", "--seed", "0", "--project", str(tmp / "runs"), "--name",
            "g", "--data", str(data), "--latency-runs", "0", *TINY]
    r = _ablate(args, tmp)
    assert r.returncode == 0, r.stdout[-4000:] + r.stderr[-4000:]
    # cells.csv describes the latest invocation (later tests extend the grid): keep this one's
    return dict(tmp=tmp, dir=tmp / "runs" / "g", args=args, out=r.stdout + r.stderr, cells=_cells(tmp / "runs" / "g"))


NAMES = ["yolov5n-seed0", "yolov5n-se-backbone-seed0", "yolov5n-se-neck-seed0", "yolov5n-simam-backbone-seed0",
         "yolov5n-simam-neck-seed0"]


def test_local_grid_writes_every_cell_and_the_report(grid):
    g = grid["dir"]
    for name in NAMES:  # ordinary train_attn.py run folders
        for f in ("args.yaml", "results.csv", "weights/best.pt", "weights/last.pt"):
            assert (g / name / f).is_file(), (name, f)
    for f in ("comparison.md", "comparison.csv", "comparison.png", "heatmap.png", "cells.csv"):
        assert (g / f).is_file(), f
    assert (g / "heatmap.png").read_bytes()[:4] == b"\x89PNG"
    cells = grid["cells"]
    assert list(cells) == NAMES and {r["status"] for r in cells.values()} == {"finished"}
    rows = list(csv.DictReader((g / "comparison.csv").open()))
    att = [r for r in rows if r["module"] not in ("none", "control")]
    assert sorted(r["config"] for r in att) == sorted(n[: -len("-seed0")] for n in NAMES[1:])
    assert {r["baseline"] for r in att} == {"yolov5n"} and all(r["delta_mAP50-95"] != "" for r in att)
    assert not [r for r in rows if r["module"] == "control"]  # --latency-runs 0: no timing (tests/test_compare_honest.py)
    md = (g / "comparison.md").read_text()
    lines = md.splitlines()
    table = md.split("Per-class AP50 / AP50-95")[0].splitlines()  # the comparison table, before the per-class one
    assert "Per-class AP50 / AP50-95" in md  # every cell recorded per_class.json (issue 30)
    for name in NAMES:  # one comparison row per config (one seed each), one cells row per cell
        assert sum(ln.startswith(f"| {name[: -len('-seed0')]} | ") for ln in table) == 1
        assert sum(ln.startswith(f"| {name} | finished |") for ln in lines) == 1
    assert "## Cells" in md
    # progress lines while it ran, and the final count
    assert "grid: started yolov5n-seed0" in grid["out"] and "done 5/5" in grid["out"]
    assert "grid: 5 cells, 0 failed" in grid["out"]
    # trials keep ultralytics' Ray Tune callback (per-epoch progress), plain runs drop it (engine/trainers.py)
    assert "yolov5n-seed0 epoch 1 mAP50-95" in grid["out"]
    assert all(c["this_run"] == "trained" and c["seconds"] != "" and c["node_id"] != "" for c in cells.values())


def test_rerunning_a_finished_grid_trains_nothing(grid):
    g = grid["dir"]
    before = {n: (g / n / "weights" / "last.pt").stat().st_mtime_ns for n in NAMES}
    r = _ablate(grid["args"], grid["tmp"])
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    assert "5 finished earlier (skipped), 0 to train" in r.stdout
    assert {n: (g / n / "weights" / "last.pt").stat().st_mtime_ns for n in NAMES} == before
    cells = _cells(g)
    assert {c["status"] for c in cells.values()} == {"finished"}
    assert {c["this_run"] for c in cells.values()} == {"skipped"}
    for name in NAMES:  # each cell keeps the record of the invocation that trained it
        for k in ("seconds", "node_id", "torch_threads", "mAP50-95"):
            assert cells[name][k] == grid["cells"][name][k], (name, k)
    first = float(re.search(r"Grid wall time: (\d+) s", grid["out"])[1])
    md = (g / "comparison.md").read_text()
    said = re.search(r"Grid wall time: (\d+) s \(every invocation that trained\); this invocation: (\d+) s", md)
    assert said and float(said[1]) == first and float(said[2]) < first, md[-1500:]


def test_failing_cell_is_retried_then_reported(grid):
    """EMA with factor 24 cannot divide yolov5n's channels: that cell fails (twice: --retries 1), SE trains."""
    args = [a for a in grid["args"]]
    i = args.index("--attn")
    args[i + 1: i + 2] = ["SE,EMA"]
    args[args.index("--at") + 1] = "stages"
    r = _ablate(args + ["--attn-args", "24"], grid["tmp"])
    assert r.returncode == 1, r.stdout[-3000:] + r.stderr[-3000:]
    cells = _cells(grid["dir"])
    assert cells["yolov5n-ema-stages-seed0"]["status"] == "failed"
    assert "factor 24" in cells["yolov5n-ema-stages-seed0"]["error"]
    assert cells["yolov5n-se-stages-seed0"]["status"] == "finished" and cells["yolov5n-seed0"]["this_run"] == "skipped"
    assert "yolov5n-ema-stages-seed0 failed, retrying" in r.stdout
    md = (grid["dir"] / "comparison.md").read_text()
    assert "| yolov5n-ema-stages-seed0 | failed |" in md and "failed cells (see the error column)" in r.stdout


def test_cell_trains_what_train_attn_trains(grid):
    """The same cell through train_attn.py (same torch thread count as the trial): same yaml, params, args, mAP."""
    cell = grid["cells"]["yolov5n-se-neck-seed0"]
    argv = cell["command"].split()[2:]
    other = grid["tmp"] / "single"
    argv[argv.index("--project") + 1] = str(other)
    env = _env(OMP_NUM_THREADS=cell["torch_threads"])
    r = subprocess.run([sys.executable, str(ROOT / "train_attn.py"), *argv], capture_output=True, text=True, env=env,
                       cwd=grid["tmp"], timeout=600)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    a, b = grid["dir"] / "yolov5n-se-neck-seed0", other / "yolov5n-se-neck-seed0"
    assert (grid["dir"] / "cfg" / "yolov5n-se-neck.yaml").read_text() == (other / "cfg" / "yolov5n-se-neck.yaml").read_text()
    pa, pb = (sum(p.numel() for p in torch.load(d / "weights" / "best.pt", weights_only=False)["model"].parameters())
              for d in (a, b))
    assert pa == pb
    ya, yb = (yaml.safe_load((d / "args.yaml").read_text()) for d in (a, b))
    for y, d in ((ya, a), (yb, b)):
        assert y.pop("save_dir") == str(d) and y.pop("project") == str(d.parent)
        y["model"] = Path(y["model"]).name
    assert ya == yb
    ra, rb = (list(csv.DictReader((d / "results.csv").open())) for d in (a, b))
    for k in ("metrics/mAP50(B)", "metrics/mAP50-95(B)"):
        assert float(ra[-1][k]) == pytest.approx(float(rb[-1][k]), abs=1e-4)


def _start_simam_grid(name, data, tmp_path, **popen):
    """Start ablate_attn.py on yolov5n + SimAM at the neck, 3 epochs, one cell at a time, in its own process group
    (the Ray processes it starts die with it). Returns (project, args, base cell's run folder, process)."""
    project = tmp_path / "runs"
    args = ["--attn", "SimAM", "--at", "neck", "--seed", "0", "--project", str(project), "--name", name, "--data",
            str(data), "--max-concurrent", "1", "--latency-runs", "0", *TINY]
    args[args.index("--epochs") + 1] = "3"
    base = project / name / "yolov5n-seed0"
    cmd = [sys.executable, str(ROOT / "ablate_attn.py"), *args]
    p = subprocess.Popen(cmd, env=_env(), cwd=tmp_path, start_new_session=True, **popen)
    return project, args, base, p


def _wait_for_an_epoch(p, base, what):
    """Wait (400 s at most) until the base cell has saved an epoch, the grid still running."""
    deadline = time.time() + 400
    while time.time() < deadline and not (base / "results.csv").is_file():
        assert p.poll() is None, f"the grid ended before it could be {what}"
        time.sleep(0.5)
    assert (base / "results.csv").is_file(), "no epoch finished in time"


def test_killed_grid_resumes_from_last_pt(data, tmp_path):
    """Kill the grid (driver and its Ray cluster) once a cell has saved an epoch; the rerun resumes that cell."""
    project, args, base, p = _start_simam_grid("k", data, tmp_path, stdout=subprocess.DEVNULL,
                                               stderr=subprocess.DEVNULL)
    try:
        _wait_for_an_epoch(p, base, "killed")
    finally:
        os.killpg(p.pid, signal.SIGKILL)
        p.wait()
    epochs_before = len(list(csv.DictReader((base / "results.csv").open())))
    assert 1 <= epochs_before < 3
    r = _ablate(args, tmp_path)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    assert "0 finished earlier (skipped), 2 to train" in r.stdout
    assert "Resuming training" in r.stdout + r.stderr
    rows = list(csv.DictReader((base / "results.csv").open()))
    assert [int(float(x["epoch"])) for x in rows] == [1, 2, 3]  # continued, not restarted
    assert {c["status"] for c in _cells(project / "k").values()} == {"finished"}
    # the resumed base cell is still "yolov5n" trained from scratch: the SimAM cell gets its Δ against it
    comp = {r["config"]: r for r in csv.DictReader((project / "k" / "comparison.csv").open())}
    assert set(comp) == {"yolov5n", "yolov5n-simam-neck"}, list(comp)
    assert comp["yolov5n"]["init"] == comp["yolov5n-simam-neck"]["init"] == "scratch"
    assert comp["yolov5n-simam-neck"]["baseline"] == "yolov5n" and comp["yolov5n-simam-neck"]["delta_mAP50-95"] != ""


def test_ctrl_c_stops_the_grid_writes_the_states_and_the_rerun_completes_it(data, tmp_path):
    """SIGINT to ablate_attn.py once the base cell saved an epoch: exit 130, no traceback, states in cells.csv."""
    project, args, base, p = _start_simam_grid("c", data, tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                               text=True)
    try:
        _wait_for_an_epoch(p, base, "interrupted")
        os.kill(p.pid, signal.SIGINT)  # Ctrl-C
        out, err = p.communicate(timeout=300)
    finally:
        if p.poll() is None:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait()
    assert p.returncode == 130, out[-3000:] + err[-3000:]
    assert "Traceback" not in out + err and "TypeError" not in out + err, err[-3000:]
    cells = _cells(project / "c")
    assert cells["yolov5n-simam-neck-seed0"]["status"] == "not started"
    assert cells["yolov5n-seed0"]["status"] in ("interrupted", "finished")  # stopped mid-run, or just done
    assert "| yolov5n-simam-neck-seed0 | not started |" in (project / "c" / "comparison.md").read_text()
    assert "rerun the same command to complete the grid" in out
    r = _ablate(args, tmp_path)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    assert {c["status"] for c in _cells(project / "c").values()} == {"finished"}
    assert [int(float(x["epoch"])) for x in csv.DictReader((base / "results.csv").open())] == [1, 2, 3]


def test_two_node_cluster_runs_trials_on_both_nodes(data, tmp_path):
    """ray.cluster_utils.Cluster: a head and a worker node of 1 CPU each; two cells at once land on both."""
    from ray.cluster_utils import Cluster

    from yolo_attn.cli.train import run as train_run
    from yolo_attn.grid.run import run_grid
    from yolo_attn.grid.cells import plan_cells

    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1, "include_dashboard": False})
    cluster.add_node(num_cpus=1)
    try:
        ray.init(address=cluster.address)
        cluster.wait_for_nodes()
        grid = tmp_path / "shared" / "two"
        common = ["--data", str(data), *TINY]
        cells = plan_cells("yolov5n.yaml", ["SimAM"], ["neck"], [0], grid, common)
        status = run_grid(cells, grid, train_argv=train_run, cpus_per_trial=1, gpus_per_trial=0, retries=0)
        nodes = {n["NodeID"] for n in ray.nodes() if n["Alive"]}
    finally:
        ray.shutdown()
        cluster.shutdown()
    assert {s["status"] for s in status.values()} == {"finished"}, status
    used = {s["node_id"] for s in status.values()}
    assert len(used) == 2 and used <= nodes  # one trial on each node
    for c in cells:  # both wrote into the one shared project folder
        assert (Path(c.run_dir) / "weights" / "best.pt").is_file()

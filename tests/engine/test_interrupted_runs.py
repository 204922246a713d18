"""Interrupted runs keep their identity, finished ones are recognised, and refusals change nothing (issue 22).

One tiny yolov5n run (2 epochs, imgsz 64) is trained in-process; copies of its checkpoints taken at each save give
the states an interruption leaves: ``unfinalised`` (the final epoch saved, the optimizer not yet stripped) and
``interrupted`` (after epoch 1 of 2). A second run (SE at the neck) is killed with SIGKILL during epoch 2 and resumed.
"""

import csv
import hashlib
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import complete_epoch, subprocess_env
from yolo_attn.data.synthetic import make_dataset

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


def tree_hash(folder: Path) -> dict:
    """Every file under ``folder`` (relative path) -> sha256 of its bytes."""
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def _script(name, *args, cwd, timeout=600):
    return subprocess.run([sys.executable, str(REPO / name), *map(str, args)], cwd=cwd, env=subprocess_env(),
                          capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """``finished`` (a normal 2-epoch run), ``unfinalised`` and ``interrupted`` copies of it, the data, the base."""
    from ultralytics import YOLO

    from yolo_attn.engine.trainers import AttnDetectionTrainer

    tmp = tmp_path_factory.mktemp("interrupted")
    data = make_dataset(tmp / "data", n_train=16, n_val=2, imgsz=64, seed=0)
    project = tmp / "runs"
    saved = {}

    def keep(trainer):  # the checkpoint as saved at the end of each epoch, before any stripping
        saved[trainer.epoch] = tmp / f"last-epoch{trainer.epoch}.pt"
        shutil.copy2(trainer.last, saved[trainer.epoch])

    model = YOLO("yolov5n.yaml")
    model.add_callback("on_model_save", keep)
    model.train(data=str(data), epochs=2, imgsz=64, batch=4, workers=0, device="cpu", plots=False,
                project=str(project), name="finished", trainer=AttnDetectionTrainer, seed=0)
    finished = project / "finished"
    unfinalised, interrupted = project / "unfinalised", project / "interrupted"
    shutil.copytree(finished, unfinalised)
    shutil.copy2(saved[1], unfinalised / "weights" / "last.pt")
    shutil.copytree(finished, interrupted)
    shutil.copy2(saved[0], interrupted / "weights" / "last.pt")
    rows = (interrupted / "results.csv").read_text().splitlines()
    (interrupted / "results.csv").write_text("\n".join(rows[:2]) + "\n")
    return dict(tmp=tmp, data=data, finished=finished, unfinalised=unfinalised, interrupted=interrupted)


def test_resume_of_a_run_stopped_before_its_strip_is_one_error_line(runs):
    run = runs["unfinalised"]
    before = tree_hash(run)
    r = _script("train_attn.py", "--resume", run / "weights" / "last.pt", cwd=runs["tmp"])
    assert r.returncode == 2, r.stdout[-2000:] + r.stderr[-2000:]
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), r.stderr[-2000:]
    assert "finished its 2 epochs" in lines[0] and "yolo_attn.engine.finalise" in lines[0]
    assert "Traceback" not in r.stdout + r.stderr
    assert tree_hash(run) == before


def _one_error_line(r, case):
    """A refusal: exit 2, exactly one ``error:`` line on stderr, no traceback anywhere."""
    out = r.stdout[-1500:] + r.stderr[-1500:]
    assert r.returncode == 2, (case, r.returncode, out)
    assert "Traceback" not in r.stdout + r.stderr, (case, out)
    errors = [ln for ln in r.stderr.splitlines() if ln.startswith("error:")]
    assert len(errors) == 1, (case, out)


def test_resume_with_its_data_gone_is_one_error_line(runs):
    """Found by issue 29 (it ended in ultralytics' traceback, exit 1): the recorded data set is checked first."""
    data = runs["data"]
    moved = data.parent.with_name("data-gone")
    data.parent.rename(moved)
    try:
        r = _script("train_attn.py", "--resume", runs["interrupted"] / "weights" / "last.pt", "--device", "cpu",
                    cwd=runs["tmp"])
    finally:
        moved.rename(data.parent)
    _one_error_line(r, "--resume with the data set gone")
    assert "the run's data set" in r.stderr and "--weights" in r.stderr, r.stderr[-1500:]


def test_refusals_and_failures_before_training_leave_run_folders_byte_identical(runs):
    folders = [runs[k] for k in ("finished", "unfinalised", "interrupted")]
    before = {d: tree_hash(d) for d in folders}
    tmp, data = runs["tmp"], runs["data"]
    no_images = tmp / "no-images.yaml"
    no_images.write_text(f"path: {tmp / 'nowhere'}\ntrain: images/train\nval: images/val\nnames: ['a', 'b', 'c']\n")
    project, name = runs["finished"].parent, runs["interrupted"].name
    # a copy of the interrupted run: its checkpoint names the original folder as save_dir
    copy = tmp / "elsewhere" / "copied"
    shutil.copytree(runs["interrupted"], copy)
    folders.append(copy)
    before[copy] = tree_hash(copy)
    moved = data.parent.with_name("data-moved")
    cases = [
        ("train_attn.py", "--resume", runs["finished"] / "weights" / "last.pt"),  # finished: refused
        ("train_attn.py", "--resume", runs["unfinalised"] / "weights" / "last.pt"),  # finished, not stripped
        # an exist_ok rerun into an old folder that fails inside ultralytics (after it rewrote args.yaml)
        ("train_attn.py", "--cfg", "yolov5n.yaml", "--data", no_images, "--epochs", "1", "--imgsz", "64",
         "--project", project, "--name", name, "--exist-ok", "--device", "cpu"),
        ("train_attn.py", "--cfg", "yolov5n.yaml", "--data", tmp / "missing.yaml", "--project", project, "--name",
         name, "--exist-ok"),
    ]
    for case in cases:
        r = _script(*case, cwd=tmp)
        _one_error_line(r, case)
        for d in folders:
            assert tree_hash(d) == before[d], (case, d, r.stderr[-1500:])
    # a resumable run whose data has gone: refused before the trainer starts (ultralytics would fail after rewriting
    # args.yaml and labels.jpg)
    data.parent.rename(moved)
    try:
        for last in (runs["interrupted"] / "weights" / "last.pt", copy / "weights" / "last.pt"):
            r = _script("train_attn.py", "--resume", last, "--device", "cpu", cwd=tmp)
            _one_error_line(r, ("--resume, data gone", last))
            assert "the run's data set" in r.stderr, r.stderr[-1500:]
            for d in folders:
                assert tree_hash(d) == before[d], (last, d, r.stderr[-1500:])
    finally:
        moved.rename(data.parent)
    # with its data back, the copy resumes in its own folder; the folder its checkpoint names is not touched
    r = _script("train_attn.py", "--resume", copy / "weights" / "last.pt", "--device", "cpu", cwd=tmp)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    assert [int(float(x["epoch"])) for x in csv.DictReader((copy / "results.csv").open())] == [1, 2]
    assert tree_hash(runs["interrupted"]) == before[runs["interrupted"]]


def test_grid_rerun_finalises_a_cell_stopped_before_its_strip(runs, tmp_path):
    from ultralytics.nn.tasks import torch_safe_load

    from yolo_attn.grid.cells import DONE, UNFINALISED, cell_state, plan_cells
    from yolo_attn.grid.report import write_report
    from yolo_attn.cli.train import run as train_run
    from yolo_attn.grid.run import run_grid

    grid = tmp_path / "grid"
    cells = plan_cells("yolov5n.yaml", [], [], [0], grid, ["--data", str(runs["data"])])
    shutil.copytree(runs["unfinalised"], cells[0].run_dir)
    assert cell_state(cells[0].run_dir) == UNFINALISED
    status = run_grid(cells, grid, train_argv=train_run, retries=0, echo=lambda *a, **k: None)
    assert status[cells[0].name]["status"] == "finished" and status[cells[0].name]["this_run"] == "finalised"
    assert cell_state(cells[0].run_dir) == DONE
    for f in ("last.pt", "best.pt"):
        ckpt, _ = torch_safe_load(str(Path(cells[0].run_dir) / "weights" / f))
        assert ckpt["optimizer"] is None and ckpt["epoch"] == -1
    report = write_report(grid, cells, status, latency_runs=0, wall_s=1.0)
    rows = list(csv.DictReader((grid / "cells.csv").open()))
    assert [(r["cell"], r["status"], r["this_run"]) for r in rows] == [("yolov5n-seed0", "finished", "finalised")]
    assert "latency not measured" in report["markdown"] and "load average" not in report["markdown"]


def test_resumed_run_is_compared_as_what_it_was_started_as(runs, tmp_path):
    """SE at the neck, killed (SIGKILL, by pid) during epoch 2 and resumed: grouped with the base, Δ against it."""
    from yolo_attn.analysis.compare import compare

    project = tmp_path / "runs"
    shutil.copytree(runs["finished"], project / "yolov5n")  # the base: same data, imgsz, epochs, scratch
    run = project / "yolov5n-se-neck"
    cmd = [sys.executable, str(REPO / "train_attn.py"), "--cfg", "yolov5n.yaml", "--attn", "SE", "--at", "neck",
           "--data", str(runs["data"]), "--epochs", "2", "--imgsz", "64", "--batch-size", "2", "--workers", "0",
           "--device", "cpu", "--project", str(project), "plots=False"]
    log = open(tmp_path / "first.log", "w")
    proc = subprocess.Popen(cmd, cwd=tmp_path, env=subprocess_env(), stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 400
        while complete_epoch(run / "weights" / "last.pt") is None and proc.poll() is None \
                and time.monotonic() < deadline:
            time.sleep(0.05)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait()
        log.close()
    first = (tmp_path / "first.log").read_text()
    assert complete_epoch(run / "weights" / "last.pt") == 0, first[-3000:]  # killed during epoch 2
    r = _script("train_attn.py", "--resume", run / "weights" / "last.pt", "--device", "cpu", cwd=tmp_path)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    assert "Resuming training" in r.stdout + r.stderr
    for out in (first, r.stdout + r.stderr):  # ultralytics' Ray Tune callback is kept out of plain runs
        assert "get_trial_id" not in out
    args = (run / "args.yaml").read_text()
    assert "weights/last.pt" in args  # ultralytics rewrote it: the identity must not come from there
    res = compare(project, latency_runs=0)
    rows = {r["config"]: r for r in res["rows"]}
    assert set(rows) == {"yolov5n", "yolov5n-se-neck"}, list(rows)
    se, base = rows["yolov5n-se-neck"], rows["yolov5n"]
    assert se["group"] == base["group"] and se["init"] == base["init"] == "scratch"
    assert se["baseline"] == "yolov5n" and se["delta_mAP50-95"] != "" and se["module"] == "SE"  # the registered name (compare shows registered names)
    assert se["delta_mAP50-95"] == pytest.approx(se["mAP50-95_mean"] - base["mAP50-95_mean"], abs=1e-3)

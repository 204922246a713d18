"""The search on a real local Ray cluster at tiny sizes: ASHA stops a config that cannot learn (lr0=0) at the first
rung, the confirmation stage trains the survivor and the base over seeds and reports Δ with its power, and a search
killed mid-trial resumes (``ablate_attn.py --search``)."""

import csv
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import subprocess_env
from yolo_attn.data.shapes_hard import make_hard_dataset

pytestmark = pytest.mark.slow  # trains search trials

ROOT = Path(__file__).resolve().parents[2]
os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"
os.environ["RAY_CHDIR_TO_TRIAL_DIR"] = "0"
TINY = ["--imgsz", "64", "--batch-size", "4", "--workers", "0", "plots=False"]


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return make_hard_dataset(tmp_path_factory.mktemp("hard") / "data", n_train=8, n_val=4, imgsz=64)


def test_asha_stops_a_config_that_cannot_learn_and_confirmation_runs_the_survivor(data, tmp_path):
    from yolo_attn.analysis.compare import compare
    from yolo_attn.grid.cells import Cell
    from yolo_attn.grid.confirm import confirm_cells, space_cells, top_k
    from yolo_attn.grid.run import run_grid
    from yolo_attn.grid.search import run_search
    from yolo_attn.cli.train import run as train_run
    from yolo_attn.grid.space import search_space

    # nbs=4: an optimizer step every batch of 4; SGD: ultralytics' optimizer=auto picks its own lr and ignores lr0
    common = ["--data", str(data), "--epochs", "3", *TINY, "nbs=4", "optimizer=SGD"]
    grid = tmp_path / "g"
    learner, = space_cells("yolov5n.yaml", search_space(["SE"], ["neck"], {}), grid, common)
    # the same config with lr0=0 (a train setting override): its weights never move, its mAP stays at the start
    frozen = Cell(learner.name.replace("-seed0", "-lr0-seed0"), learner.base, "SE", "neck", 0,
                  learner.run_dir.replace("-seed0", "-lr0-seed0"),
                  tuple(a.replace(learner.name, learner.name.replace("-seed0", "-lr0-seed0")) for a in learner.argv)
                  + ("lr0=0", "warmup_bias_lr=0"))
    lines = []
    # at this size every mAP50-95 is still 0 after a few epochs (ties: ASHA could rank nothing), so the scheduler
    # ranks by the validation classification loss, which a model that learns lowers from the first epoch
    records = run_search([learner, frozen], grid, train_argv=train_run, epochs=3, grace=1, reduction=2, max_concurrent=1,
                         metric="val/cls_loss", echo=lambda *a, **k: lines.append(" ".join(map(str, a))))
    by = {r["trial"]: r for r in records}
    assert by[learner.name]["status"] == "completed" and by[learner.name]["epochs"] == 3, records
    assert by[frozen.name]["status"] == "stopped early" and by[frozen.name]["epochs"] == 1, records
    loss = {c.name: float(next(csv.DictReader((Path(c.run_dir) / "results.csv").open()))["val/cls_loss"])
            for c in (learner, frozen)}
    assert loss[learner.name] < loss[frozen.name]  # why it was stopped: worse at the first rung
    # the completed trial finished its final validation under the scheduler: per_class.json too (it was lost when
    # that validation's Tune report reached max_t and the trial was stopped there)
    assert (Path(learner.run_dir) / "per_class.json").is_file()
    chosen = top_k(records, 1)
    assert [r["trial"] for r in chosen] == [learner.name]
    conf = confirm_cells("yolov5n.yaml", chosen, {c.name: c for c in (learner, frozen)}, [0, 1], grid / "confirm",
                         common)
    status = run_grid(conf, grid / "confirm", train_argv=train_run, echo=lambda *a, **k: None)
    assert {status[c.name]["status"] for c in conf} == {"finished"} and len(conf) == 4
    for c in conf:
        assert len(list(csv.DictReader((Path(c.run_dir) / "results.csv").open()))) == 3  # full length
    rows = {r["config"]: r for r in compare(grid / "confirm", latency_runs=0)["rows"]}
    se = rows["yolov5n-se-neck"]
    assert se["baseline"] == "yolov5n" and se["seeds"] == "0 1" and se["delta_mAP50-95_ci_lo"] != ""
    assert "power" in se["delta_note"] or "inconclusive at 2 seeds" in se["delta_note"]


def _ablate_cmd(data, project):
    return [sys.executable, str(ROOT / "ablate_attn.py"), "--search", "--attn", "SE", "--at", "neck", "--attn-args",
            "reduction=8,16", "--epochs", "2", *TINY, "--data", str(data), "--project", str(project), "--name", "s",
            "--top-k", "1", "--confirm-seeds", "0", "--latency-runs", "0", "--max-concurrent", "1"]


def test_killed_search_resumes_and_reports_every_trial(data, tmp_path):
    env = subprocess_env()
    env.pop("RAY_ADDRESS", None)
    cmd = _ablate_cmd(data, tmp_path / "runs")
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, cwd=tmp_path,
                         start_new_session=True)
    first = tmp_path / "runs" / "s" / "search" / "yolov5n-se-neck-reduction8-seed0" / "results.csv"
    try:
        for _ in range(1200):
            if first.is_file() or p.poll() is not None:
                break
            time.sleep(0.5)
    finally:
        os.killpg(p.pid, signal.SIGKILL)
        p.wait()
    assert first.is_file(), "no trial saved an epoch before the kill"
    assert not (tmp_path / "runs" / "s" / "search.md").exists()
    r = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=tmp_path, timeout=1500)
    assert r.returncode == 0, r.stdout[-4000:] + r.stderr[-4000:]
    assert "took over the lock" in r.stdout + r.stderr  # the killed driver's lock: stale, taken over
    epochs = [int(float(x["epoch"])) for x in csv.DictReader(first.open())]
    assert epochs == sorted(set(epochs)) and epochs[0] == 1  # continued, never two rows for one epoch
    trials = list(csv.DictReader((tmp_path / "runs" / "s" / "search.csv").open()))
    assert {t["trial"] for t in trials} == {"yolov5n-se-neck-reduction8-seed0", "yolov5n-se-neck-reduction16-seed0"}
    assert all(t["status"] in ("completed", "stopped early") for t in trials)
    md = (tmp_path / "runs" / "s" / "search.md").read_text()
    assert "a full grid of the same space" in md and "| yolov5n |" in md
    again = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=tmp_path, timeout=600)
    assert again.returncode == 0 and "nothing to train" in again.stdout  # a finished search: read back, no Ray

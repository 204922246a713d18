"""Resume: a run killed after its first epoch finishes its planned epochs with ``train_attn.py --resume last.pt``."""

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
from ultralytics.nn.tasks import torch_safe_load

from yolo_attn.data.synthetic import make_dataset
from yolo_attn.models import SRM

from conftest import complete_epoch, subprocess_env

REPO = Path(__file__).resolve().parents[2]
EPOCHS = 3


@pytest.mark.slow
def test_killed_run_resumes_to_the_planned_epochs(tmp_path):
    data = make_dataset(tmp_path / "data", n_train=16, n_val=2, imgsz=64, seed=0)
    project, run = tmp_path / "runs", tmp_path / "runs" / "killed"
    last = run / "weights" / "last.pt"
    common = ["--device", "cpu", "--workers", "0", "plots=False"]
    cmd = [sys.executable, str(REPO / "train_attn.py"), "--cfg", "yolov5n-srm.yaml", "--data", str(data),
           "--epochs", str(EPOCHS), "--imgsz", "64", "--batch-size", "2", "--project", str(project), "--name", "killed",
           *common]
    log = open(tmp_path / "first.log", "w")
    proc = subprocess.Popen(cmd, cwd=tmp_path, env=subprocess_env(), stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)
    try:
        deadline = time.monotonic() + 300
        while complete_epoch(last) is None and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        os.killpg(proc.pid, signal.SIGKILL)  # as a crash or a pre-empted job would: no cleanup
    finally:
        proc.wait()
        log.close()
    killed_at = complete_epoch(last)
    assert killed_at is not None, (tmp_path / "first.log").read_text()[-3000:]
    assert killed_at < EPOCHS - 1, f"the run finished (epoch {killed_at}) before it could be killed"
    rows_before = list(csv.DictReader(open(run / "results.csv")))

    r = subprocess.run([sys.executable, str(REPO / "train_attn.py"), "--resume", str(last), *common], cwd=tmp_path,
                       env=subprocess_env(), capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, (r.stdout + r.stderr)[-3000:]
    out = r.stdout + r.stderr
    # ultralytics' trainer names the checkpoint and continues after the last complete epoch (0-based in the file)
    said = re.search(r"Resuming training (\S+) from epoch (\d+) to (\d+) total epochs", out)
    assert said, out[-3000:]
    assert Path(said[1]).name == "last.pt" and (int(said[2]), int(said[3])) == (killed_at + 2, EPOCHS), said[0]

    epochs = [int(float(row["epoch"])) for row in csv.DictReader(open(run / "results.csv"))]
    assert epochs == list(range(1, EPOCHS + 1)), f"results.csv epochs {epochs} (before resume: {len(rows_before)})"
    assert not (project / "killed2").exists(), "resume started a new run folder instead of continuing"
    for name in ("last.pt", "best.pt"):
        ckpt = torch_safe_load(str(run / "weights" / name))[0]
        net = ckpt.get("ema") or ckpt["model"]
        srm = [m for m in net.modules() if isinstance(m, SRM)]
        assert len(srm) == 1 and srm[0].cfc.shape == (srm[0].bn.num_features, 2), f"{name}: SRM layer lost"
        assert srm[0].cfc.abs().sum() > 0, f"{name}: SRM never trained (cfc is initialised to zero)"
        assert all(torch.isfinite(p).all() for p in net.parameters())

"""Grid cells without Ray: names, the train_attn.py command of each cell, finished/interrupted/new detection."""

import subprocess
import sys
from pathlib import Path

import torch

from conftest import subprocess_env
from yolo_attn.grid.cells import DONE, NEW, PARTIAL, best_metrics, cell_argv, cell_state, plan_cells
from yolo_attn.cli.ablate import common_train_argv

ROOT = Path(__file__).resolve().parents[2]


def test_plan_names_and_commands(tmp_path):
    cells = plan_cells("yolov5n.yaml", ["SE", "SimAM"], ["neck", "6+8"], [0, 1], tmp_path / "g", ["--epochs", "2"], "8")
    names = [c.name for c in cells]
    assert names[:2] == ["yolov5n-seed0", "yolov5n-seed1"]  # the plain base, once per seed
    assert names[2:6] == ["yolov5n-se-neck-seed0", "yolov5n-se-neck-seed1", "yolov5n-se-6+8-seed0", "yolov5n-se-6+8-seed1"]
    assert len(cells) == 2 + 2 * 2 * 2 and len(set(names)) == len(names)
    c = cells[4]
    assert c.run_dir == str((tmp_path / "g" / "yolov5n-se-6+8-seed0").resolve())
    assert list(c.argv) == ["--epochs", "2", "--cfg", "yolov5n.yaml", "--attn", "SE", "--at", "6,8", "--attn-args", "8",
                            "--seed", "0", "--project", str((tmp_path / "g").resolve()), "--name", "yolov5n-se-6+8-seed0",
                            "--exist-ok"]
    assert "--attn" not in cells[0].argv


def _ckpt(d: Path, epoch: int, optimizer):
    (d / "weights").mkdir(parents=True, exist_ok=True)
    torch.save({"epoch": epoch, "optimizer": optimizer, "model": None}, d / "weights" / "last.pt")


def test_state_finished_interrupted_new(tmp_path):
    cell = plan_cells("yolov5n.yaml", [], [], [0], tmp_path, [])[0].as_dict()
    d = Path(cell["run_dir"])
    assert cell_state(d) == NEW and cell_argv(cell) == list(cell["argv"])
    _ckpt(d, 1, {"state": {}})  # an epoch saved with its optimizer: resumable
    assert cell_state(d) == PARTIAL
    assert cell_argv(cell) == ["--resume", str(d / "weights" / "last.pt")]
    _ckpt(d, -1, None)  # stripped at the end of training
    assert cell_state(d) == NEW  # ... but without results.csv and best.pt it is not a usable run
    (d / "results.csv").write_text("epoch,metrics/mAP50(B),metrics/mAP50-95(B)\n1,0.5,0.25\n2,0.6,0.3\n")
    (d / "weights" / "best.pt").write_bytes(b"x")
    assert cell_state(d) == DONE
    assert best_metrics(d) == {"mAP50": 0.6, "mAP50-95": 0.3, "epochs": 2}
    (d / "weights" / "last.pt").write_bytes(b"cut off while writ")  # a torn checkpoint: start again
    assert cell_state(d) == NEW


def test_common_flags_and_refusals(tmp_path):
    import pytest

    from yolo_attn.errors import UsageError

    data = tmp_path / "d.yaml"
    data.write_text("names: {0: a}\nval: x\n")
    argv = common_train_argv(["--data", str(data), "--imgsz", "64", "lr0=0.002"])
    assert argv == ["--data", str(data.resolve()), "--imgsz", "64", "lr0=0.002"]  # the rest: train()'s defaults
    for bad, msg in ((["--device", "0"], "--gpus-per-trial"), (["--cfg", "x.yaml"], "use --base"),
                     (["--resume"], "rerun the same"), (["oops"], "unrecognised argument 'oops'")):
        with pytest.raises(UsageError, match=msg):
            common_train_argv(bad)


def test_without_ray_the_script_names_the_install_line(tmp_path):
    """A Python whose 'ray' import fails: ablate_attn.py exits 2 with the pip line, no traceback."""
    blocker = tmp_path / "block"
    blocker.mkdir()
    (blocker / "ray.py").write_text("raise ImportError('No module named ray (blocked for this test)')\n")
    env = subprocess_env(PYTHONPATH=f"{blocker}:{ROOT}")
    r = subprocess.run([sys.executable, str(ROOT / "ablate_attn.py"), "--attn", "SE"], capture_output=True, text=True,
                       env=env, cwd=tmp_path, timeout=300)
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert 'install it with: pip install -e ".[ray]"' in r.stderr

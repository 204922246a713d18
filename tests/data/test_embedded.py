"""The embedded sets answer to the same names at every entry point (issue 21 item 4): ``shapes``, ``shapes-hard``,
``shapes-seg`` through one resolver (``resolve_data`` / ``yolo_attn.data.embedded``), for train_attn.py, val_attn.py,
ablate_attn.py and ``yolo-attn ... data=``."""

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from conftest import subprocess_env

ROOT = Path(__file__).resolve().parents[2]
FIXTURE = ROOT / "tests" / "fixtures" / "every-module-0.1.0.pt"  # a 4-class shapes checkpoint at imgsz 64


@pytest.fixture
def tiny_defaults(tmp_path, monkeypatch):
    """Each embedded set generated small, under tmp_path."""
    import yolo_attn.data.shapes_hard as sh
    import yolo_attn.data.synthetic as syn

    monkeypatch.setenv("YOLO_ATTN_DATASETS", str(tmp_path))
    monkeypatch.setitem(syn.DEFAULTS, "n_train", 2)
    monkeypatch.setitem(syn.DEFAULTS, "n_val", 1)
    monkeypatch.setitem(syn.DEFAULTS, "imgsz", 64)
    monkeypatch.setattr(sh, "HARD_DEFAULTS", dict(n_train=2, n_val=1, imgsz=64, seed=0))
    return tmp_path


@pytest.mark.parametrize("name, folder, yaml_name, task", [
    ("shapes", "shapes-2x1-64px-seed0", "shapes.yaml", "detect"),
    ("shapes-hard", "shapes-hard-v1-2x1-64px-seed0", "shapes_hard.yaml", "detect"),
    ("shapes_hard.yaml", "shapes-hard-v1-2x1-64px-seed0", "shapes_hard.yaml", "detect"),
    ("shapes-seg", "shapes-seg-2x1-64px-seed0", "shapes-seg.yaml", "segment"),
])
def test_one_resolver_for_every_name(tiny_defaults, name, folder, yaml_name, task):
    from yolo_attn.cli.train import resolve_data_alias
    from yolo_attn.cli.yolo_args import with_data
    from yolo_attn.data.lookup import resolve_data

    expected = str(tiny_defaults / folder / yaml_name)
    assert resolve_data(name) == expected  # train_attn.py, val_attn.py
    assert resolve_data_alias(name) == expected  # ablate_attn.py's cells, train_attn.py's demo defaults
    assert with_data(["val", f"data={name}"]) == ["val", f"data={expected}"]  # yolo-attn
    d = yaml.safe_load(Path(expected).read_text())
    assert (d.get("generator") or {}).get("task", "detect") == task


def test_yolo_attn_train_without_data_uses_the_demo_set_of_the_models_task(tiny_defaults):
    from yolo_attn.cli.yolo_args import with_data

    assert with_data(["train", "model=yolov5n-se.yaml"])[-1] == f"data={tiny_defaults / 'shapes-2x1-64px-seed0' / 'shapes.yaml'}"
    seg = with_data(["segment", "train", "model=yolov8n-seg.yaml"])[-1]
    assert seg == f"data={tiny_defaults / 'shapes-seg-2x1-64px-seed0' / 'shapes-seg.yaml'}"
    assert with_data(["train", "resume", "model=last.pt"]) == ["train", "resume", "model=last.pt"]  # its own data
    assert with_data(["val", "model=best.pt"]) == ["val", "model=best.pt"]  # the checkpoint's data, as yolo does
    assert with_data(["train", "data=coco8.yaml"]) == ["train", "data=coco8.yaml"]  # anything else: ultralytics'


def test_a_file_of_that_name_wins(tiny_defaults, tmp_path, monkeypatch):
    from yolo_attn.data.lookup import resolve_data

    monkeypatch.chdir(tmp_path)
    mine = tmp_path / "shapes.yaml"
    mine.write_text(f"path: {tmp_path}\ntrain: images\nval: images\nnames: [a]\n")
    (tmp_path / "images").mkdir()
    (tmp_path / "labels").mkdir()
    (tmp_path / "labels" / "0.txt").write_text("0 0.5 0.5 0.1 0.1\n")
    assert resolve_data("shapes.yaml") == str(mine)


def test_unknown_name_lists_the_embedded_sets(tiny_defaults):
    from yolo_attn.data.lookup import UsageError, resolve_data

    with pytest.raises(UsageError, match=r"--data shapes-hrad: no such dataset yaml\. Shipped: VisDrone\.yaml, "
                                         r"coco\.yaml; embedded sets: shapes, shapes-hard, shapes-seg; omit --data"):
        resolve_data("shapes-hrad")


_SMALL = ("import runpy, sys, yolo_attn.data.synthetic as s; s.DEFAULTS.update(n_train=2, n_val=4, imgsz=64); "
          "sys.argv = sys.argv[1:]; runpy.run_path(sys.argv[0], run_name='__main__')")


def test_val_attn_data_shapes_runs(tmp_path):
    r = subprocess.run([sys.executable, "-c", _SMALL, str(ROOT / "val_attn.py"), "--weights", str(FIXTURE), "--data",
                        "shapes", "--batch-size", "4", "--project", str(tmp_path / "runs"), "--name", "v"],
                       capture_output=True, text=True, cwd=tmp_path, timeout=600,
                       env=subprocess_env(PYTHONPATH=str(ROOT), YOLO_ATTN_DATASETS=str(tmp_path / "sets")))
    assert r.returncode == 0, r.stderr[-3000:]
    assert "mAP50-95" in r.stdout and (tmp_path / "runs" / "v" / "metrics.json").is_file()
    assert yaml.safe_load((tmp_path / "runs" / "v" / "metrics.json").read_text())["data"] == str(
        tmp_path / "sets" / "shapes-2x4-64px-seed0" / "shapes.yaml")


def test_yolo_attn_val_data_shapes_runs(tmp_path):
    code = _SMALL.replace("runpy.run_path(sys.argv[0], run_name='__main__')",
                          "from yolo_attn.cli.yolo import main; sys.exit(main(sys.argv[1:]))")
    r = subprocess.run([sys.executable, "-c", code, "yolo-attn", "val", f"model={FIXTURE}", "data=shapes", "imgsz=64",
                        "batch=4", f"project={tmp_path / 'runs'}", "name=v"],
                       capture_output=True, text=True, cwd=tmp_path, timeout=600,
                       env=subprocess_env(PYTHONPATH=str(ROOT), YOLO_ATTN_DATASETS=str(tmp_path / "sets")))
    assert r.returncode == 0, r.stderr[-3000:]
    out = r.stdout + r.stderr
    assert " all " in out and "does not exist" not in out and (tmp_path / "runs" / "v").is_dir()
    assert (tmp_path / "sets" / "shapes-2x4-64px-seed0" / "shapes.yaml").is_file()

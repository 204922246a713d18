"""Rejected runs leave no run folder behind and say the cause and the fix; older runs are never touched."""

import subprocess
import sys
from pathlib import Path

import pytest

import train_attn
from conftest import subprocess_env
from yolo_attn.cli.guard import main_guard
from yolo_attn.data.synthetic import make_dataset

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def bad_sets(tmp_path_factory):
    """Three tiny sets: good layout but a class id 7 with 4 names; images without an images/ folder; a bare folder."""
    tmp = tmp_path_factory.mktemp("bad")
    good = make_dataset(tmp / "good", n_train=4, n_val=2, imgsz=64).parent
    sets = {}
    badcls = tmp / "badcls"
    for sub in ("images/train", "labels/train"):
        (badcls / sub).mkdir(parents=True)
        for f in sorted((good / sub).iterdir()):
            text = f.read_bytes()
            (badcls / sub / f.name).write_bytes(b"".join(b"7" + ln[1:] for ln in text.splitlines(True))
                                                if f.suffix == ".txt" else text)
    (badcls / "data.yaml").write_text(f"path: {badcls}\ntrain: images/train\nval: images/train\n"
                                      "names: [circle, square, triangle, cross]\n")
    sets["badcls"] = badcls / "data.yaml"
    unl = tmp / "unlabeled"
    (unl / "pics").mkdir(parents=True)
    (unl / "labels").mkdir()
    for f in sorted((good / "images/train").iterdir()):
        (unl / "pics" / f.name).write_bytes(f.read_bytes())
        (unl / "labels" / (f.stem + ".txt")).write_bytes((good / "labels/train" / (f.stem + ".txt")).read_bytes())
    (unl / "data.yaml").write_text(f"path: {unl}\ntrain: pics\nval: pics\nnames: [circle, square, triangle, cross]\n")
    sets["unlabeled"] = unl / "data.yaml"
    bare = tmp / "bare"
    (bare / "images").mkdir(parents=True)
    sets["bare"] = bare
    return sets


def _run(project, *args):
    return main_guard(train_attn.main, ["--cfg", "yolov5n-se.yaml", "--imgsz", "64", "--batch", "2", "--epochs", "1",
                                        "--workers", "0", "--project", str(project), *map(str, args)])


@pytest.fixture
def project(tmp_path):
    """A project folder holding an older run, which must survive every failure."""
    old = tmp_path / "runs" / "yolov5n-se"
    (old / "weights").mkdir(parents=True)
    (old / "args.yaml").write_text("old: run\n")
    return tmp_path / "runs"


def _only_old_run(project):
    assert sorted(p.name for p in project.iterdir()) == ["yolov5n-se"]
    assert sorted(p.name for p in (project / "yolov5n-se").iterdir()) == ["args.yaml", "weights"]
    assert (project / "yolov5n-se" / "args.yaml").read_text() == "old: run\n"


@pytest.mark.parametrize("args,expected", [
    (["--epochs", "0"], "--epochs 0: must be 1 or more"),
    (["--device", "mps"], "--device mps: Apple's MPS backend is not available here"),
])
def test_bad_arguments(project, capsys, args, expected):
    assert _run(project, *args) == 2
    assert expected in capsys.readouterr().err
    _only_old_run(project)


def test_data_folder_says_what_a_dataset_yaml_is(project, bad_sets, capsys):
    assert _run(project, "--data", bad_sets["bare"]) == 2
    err = capsys.readouterr().err
    assert f"--data {bad_sets['bare']} is a folder, but --data takes a dataset yaml" in err
    assert "names:" in err and f"--data {bad_sets['bare'] / 'data.yaml'}" in err
    assert _run(project, "--data", bad_sets["badcls"].parent) == 2  # a folder with a yaml: name it
    assert f"pass its dataset yaml instead: --data {bad_sets['badcls']}" in capsys.readouterr().err
    _only_old_run(project)


def test_class_id_beyond_names_removes_the_new_run_folder(project, bad_sets, capsys):
    assert _run(project, "--data", bad_sets["badcls"]) == 2  # ultralytics made yolov5n-se-2 before failing
    err = capsys.readouterr().err
    assert "error: a label file has a class id >= nc" in err and "Label class 7 exceeds dataset class count 4" in err
    _only_old_run(project)


def test_unlabeled_images_remove_the_new_run_folder_and_project(tmp_path, bad_sets, capsys):
    project = tmp_path / "fresh" / "runs"  # did not exist: removed again with the run
    assert _run(project, "--data", bad_sets["unlabeled"]) == 2
    assert "error: ultralytics found no usable labels. Images must sit in a folder named 'images'" in \
        capsys.readouterr().err
    assert not project.exists()


def test_subprocess_no_traceback_and_verbose_shows_it(tmp_path, bad_sets):
    cmd = [sys.executable, str(ROOT / "train_attn.py"), "--cfg", "yolov5n-se.yaml", "--imgsz", "64", "--epochs", "1",
           "--workers", "0", "--project", str(tmp_path / "runs"), "--data", str(bad_sets["badcls"])]
    r = subprocess.run(cmd, capture_output=True, text=True, env=subprocess_env(), timeout=600, cwd=tmp_path)
    assert r.returncode == 2 and "Traceback" not in r.stderr and "error: a label file has a class id" in r.stderr
    assert not (tmp_path / "runs").exists()
    r = subprocess.run(cmd + ["--verbose"], capture_output=True, text=True, env=subprocess_env(), timeout=600,
                       cwd=tmp_path)
    assert r.returncode == 2 and "Traceback" in r.stderr and "error: a label file has a class id" in r.stderr
    assert not (tmp_path / "runs").exists()

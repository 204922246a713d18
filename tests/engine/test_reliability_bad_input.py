"""Bad input to ``train_attn.py``: one ``error:`` line naming the place and the fix, exit code 2, runs/ untouched.

Each row of the table in docs/RELIABILITY.md is one case here. Cases that stop before training run in-process through
the script's own ``main_guard`` (as ``python train_attn.py ...`` does); undecodable images need a real run and use a
subprocess: ultralytics reports each bad file and trains on the rest.
"""

import csv
import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest
import torch

import yolo_attn
from yolo_attn.cli.guard import main_guard
from yolo_attn.data.synthetic import make_dataset

from conftest import subprocess_env

REPO = Path(__file__).resolve().parents[2]
SE_ROW = "- [-1, 1, SE, [16]]"
EMA_ROW = "- [-1, 1, EMA, [32]]"


def _train_attn():
    spec = importlib.util.spec_from_file_location("train_attn", REPO / "train_attn.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _shipped(name: str) -> str:
    return (yolo_attn.CONFIG_DIR / name).read_text()


def _yaml(tmp_path, stem: str, base: str, row: str, new_row: str) -> str:
    text = _shipped(base)
    assert row in text, f"{base} no longer has the row {row!r}; update this test"
    p = tmp_path / f"{stem}.yaml"
    p.write_text(text.replace(row, new_row))
    return str(p)


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return make_dataset(tmp_path_factory.mktemp("bad_input") / "data", n_train=4, n_val=2, imgsz=64, seed=0)


@pytest.fixture
def runs(tmp_path):
    """A project folder holding an earlier run, to prove failed calls leave it as it was."""
    old = tmp_path / "runs" / "earlier" / "weights"
    old.mkdir(parents=True)
    (old / "last.pt").write_bytes(b"earlier weights")
    return tmp_path / "runs"


def _snapshot(folder: Path) -> dict:
    return {str(p.relative_to(folder)): p.read_bytes() if p.is_file() else None for p in sorted(folder.rglob("*"))}


def _no_labels(tmp_path, data):
    root = Path(data).parent
    empty = tmp_path / "nolabels"
    for sub in ("images/train", "images/val", "labels/val"):
        (empty / sub).mkdir(parents=True)
        for f in (root / sub).iterdir():
            (empty / sub / f.name).write_bytes(f.read_bytes())
    (empty / "labels" / "train").mkdir(parents=True)  # the folder exists, but holds no label files
    y = empty / "data.yaml"
    y.write_text(f"path: {empty}\ntrain: images/train\nval: images/val\nnames: {{0: circle, 1: square, 2: triangle, 3: cross}}\n")
    return str(y)


# (case id, argv builder(tmp_path, data) -> argv, fragments the message must contain: the place, then the fix)
CASES = [
    ("unknown module name",
     lambda t, d: ["--cfg", _yaml(t, "yolov5n-unknown", "yolov5-se.yaml", SE_ROW, "- [-1, 1, SEE, [16]]")],
     ["yolov5n-unknown.yaml: layer 9 uses unknown module 'SEE'", "Did you mean 'SE'?", "Registered attention modules"]),
    ("misspelt config name",
     lambda t, d: ["--cfg", "yolov5n-simma.yaml"],
     ["--cfg yolov5n-simma.yaml: no such model config", "yolov5n-simam.yaml"]),
    ("reduction larger than the channels",
     lambda t, d: ["--cfg", _yaml(t, "yolov5n-red", "yolov5-se.yaml", SE_ROW, "- [-1, 1, SE, [512]]")],
     ["yolov5n-red.yaml: layer 9 [-1, 1, SE, [512]] with 256 input channels",
      "reduction 512 is larger than the 256 input channels", "write [] for the default 16, or a reduction <= 256"]),
    ("EMA channels not divisible by factor",
     lambda t, d: ["--cfg", _yaml(t, "yolov5n-emafactor", "yolov5-ema.yaml", EMA_ROW, "- [-1, 1, EMA, [3]]")],
     ["yolov5n-emafactor.yaml: layer 9 [-1, 1, EMA, [3]] with 256 input channels",
      "EMA needs channels divisible by factor", "write factor"]),
    ("CBAM kernel not 3 or 7",
     lambda t, d: ["--cfg", _yaml(t, "yolov5n-k5", "yolov5-se.yaml", SE_ROW, "- [-1, 1, CBAM, [16, 5]]")],
     ["yolov5n-k5.yaml: layer 9 [-1, 1, CBAM, [16, 5]]", "kernel_size must be 3 or 7", "write 7"]),
    ("wrong number of args",
     lambda t, d: ["--cfg", _yaml(t, "yolov5n-args", "yolov5-se.yaml", SE_ROW, "- [-1, 1, SE, [256, 16, 1]]")],
     ["yolov5n-args.yaml: layer 9 [-1, 1, SE, [256, 16, 1]]: too many arguments",
      "Channels (256) are inferred from layer -1", "[reduction=16]"]),
    ("yaml syntax error",
     lambda t, d: ["--cfg", _yaml(t, "yolov5n-syntax", "yolov5-se.yaml", SE_ROW, "- [-1, 1, SE, [16}")],
     ["YAML syntax error in", "yolov5n-syntax.yaml", "line 33"]),
    ("missing dataset",
     lambda t, d: ["--data", str(t / "nowhere" / "data.yaml")],
     [f"nowhere/data.yaml: no such dataset yaml", "omit --data for the embedded demo set"]),
    ("empty labels folder",
     lambda t, d: ["--data", _no_labels(t, d)],
     ["labels/train has no .txt label files", "'class cx cy w h' normalised", "Write or convert the labels there"]),
    ("--device 0 without CUDA",
     lambda t, d: ["--device", "0"],
     ["--device 0 asks for CUDA GPU(s), but no CUDA GPU is usable here", "Use --device cpu"]),
    ("--imgsz 0", lambda t, d: ["--imgsz", "0"], ["--imgsz 0: must be a positive multiple of 32", "e.g. 640"]),
    ("--imgsz -64", lambda t, d: ["--imgsz", "-64"], ["--imgsz -64: must be a positive multiple of 32"]),
    ("--imgsz 100", lambda t, d: ["--imgsz", "100"], ["--imgsz 100: must be a multiple of 32", "use 96 or 128"]),
]


@pytest.mark.parametrize("case,argv,fragments", CASES, ids=[c[0] for c in CASES])
def test_bad_input_gives_one_clear_error_and_keeps_runs(case, argv, fragments, tmp_path, data, runs, capsys,
                                                        monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)  # the same answer on a GPU machine
    before = _snapshot(runs)
    base = ["--data", str(data), "--epochs", "1", "--imgsz", "64", "--device", "cpu", "--project", str(runs)]
    given = argv(tmp_path, data)
    for flag in ("--data", "--device", "--imgsz"):  # the case's own value replaces the default one
        if flag in given:
            i = base.index(flag)
            del base[i:i + 2]
    rc = main_guard(_train_attn().main, base + given)
    err = capsys.readouterr().err
    assert rc == 2, f"{case}: exit code {rc}, stderr:\n{err[-2000:]}"
    assert err.startswith("error: ") and "Traceback" not in err, err
    for fragment in fragments:
        assert fragment in err, f"{case}: {fragment!r} not in:\n{err}"
    assert _snapshot(runs) == before, f"{case}: the runs folder changed"


@pytest.mark.slow
def test_undecodable_images_are_reported_and_training_continues(tmp_path):
    data = make_dataset(tmp_path / "data", n_train=4, n_val=2, imgsz=64, seed=1)
    bad = sorted((Path(data).parent / "images" / "train").glob("*.png"))[0]
    bad.write_bytes(b"\x89PNG\r\n\x1a\n but the rest is not an image")
    r = subprocess.run([sys.executable, str(REPO / "train_attn.py"), "--data", str(data), "--epochs", "1", "--imgsz",
                        "64", "--batch-size", "2", "--device", "cpu", "--project", str(tmp_path / "runs"), "--name",
                        "corrupt", "plots=False"],
                       cwd=tmp_path, env=subprocess_env(), capture_output=True, text=True, timeout=600)
    out = r.stdout + r.stderr
    assert r.returncode == 0, out[-3000:]
    assert f"{bad}: ignoring corrupt image/label" in out, out[-3000:]
    assert "3 images, 0 backgrounds, 1 corrupt" in out
    rows = list(csv.DictReader(open(tmp_path / "runs" / "corrupt" / "results.csv")))
    assert len(rows) == 1 and (tmp_path / "runs" / "corrupt" / "weights" / "last.pt").is_file()

"""docs/PIPELINE.md's VisDrone commands run as written from the working directory on a generated VisDrone-format
sample (issue 22.9), and val_attn.py evaluates a dataset with only a val split (22.7)."""

import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from conftest import subprocess_env

ROOT = Path(__file__).resolve().parents[2]
TINY = {"--epochs": "1", "--imgsz": "64", "--batch-size": "4", "--device": "cpu"}  # instead of 300 / 640 / 32 / 0


def _docs_commands() -> list[list[str]]:
    """The python commands of the VisDrone block in docs/PIPELINE.md, continuation lines joined, multi-GPU left out."""
    text = (ROOT / "docs" / "PIPELINE.md").read_text()
    block = re.search(r"## VisDrone2019-DET\n.*?```bash\n(.*?)```", text, re.S).group(1).replace("\\\n", " ")
    cmds = [shlex.split(ln) for ln in block.splitlines() if ln.startswith("python ")]
    return [c for c in cmds if "0,1,2,3" not in c]


def _tiny(cmd: list[str], sample: Path) -> list[str]:
    out = []
    for i, a in enumerate(cmd):
        if i and cmd[i - 1] in TINY:
            a = TINY[cmd[i - 1]]
        out.append(a.replace("path/to/", f"{sample}/"))
    if out[0] == "python":
        out[0] = sys.executable
        if out[1].endswith(".py"):
            out[1] = str(ROOT / out[1])
    return out


def _split(root: Path, names: list[str]):
    (root / "images").mkdir(parents=True)
    (root / "annotations").mkdir()
    for k, name in enumerate(names):
        im = Image.new("RGB", (96, 64), (70, 80, 90))
        im.paste((230, 200, 40), (10 + 4 * k, 12, 40 + 4 * k, 40))
        im.save(root / "images" / f"{name}.jpg")
        (root / "annotations" / f"{name}.txt").write_text(f"{10 + 4 * k},12,30,28,1,4,0,0\n0,50,20,14,0,0,0,0\n")


@pytest.fixture(scope="module")
def walkthrough(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("visdrone")
    sample, cwd = tmp / "sample", tmp / "repo"
    _split(sample / "VisDrone2019-DET-train", [f"{i:07d}_t" for i in range(8)])
    _split(sample / "VisDrone2019-DET-val", [f"{i:07d}_v" for i in range(4)])
    cwd.mkdir()
    env = subprocess_env(YOLO_ATTN_DATASETS=tmp / "cache")
    outs = []
    for cmd in _docs_commands():
        r = subprocess.run(_tiny(cmd, sample), cwd=cwd, env=env, capture_output=True, text=True, timeout=900)
        outs.append((cmd, r))
        assert r.returncode == 0, f"{shlex.join(cmd)}\n{r.stdout[-3000:]}\n{r.stderr[-3000:]}"
    return dict(tmp=tmp, cwd=cwd, env=env, sample=sample, outs=outs)


@pytest.mark.slow
def test_documented_visdrone_commands_convert_train_and_validate(walkthrough):
    outs = walkthrough["outs"]
    assert [c[:2] for c, _ in outs] == [["python", "-m"], ["python", "-m"], ["python", "train_attn.py"],
                                        ["python", "val_attn.py"]]
    cwd = walkthrough["cwd"]
    assert len(list((cwd / "datasets" / "VisDrone" / "labels" / "train").glob("*.txt"))) == 8
    train_out = outs[2][1].stdout + outs[2][1].stderr
    assert f"dataset root {(cwd / 'datasets' / 'VisDrone').resolve()} (path 'VisDrone' found in ./datasets/" in train_out
    assert (cwd / "runs" / "yolov5s-ema" / "weights" / "best.pt").is_file()
    val_out = outs[3][1].stdout
    assert "VisDrone ignored regions: mAP50" in val_out and "metrics written to" in val_out


@pytest.mark.slow
def test_val_attn_evaluates_a_dataset_with_only_names_and_val(walkthrough):
    tmp, cwd = walkthrough["tmp"], walkthrough["cwd"]
    r = subprocess.run([sys.executable, "-m", "yolo_attn.data.visdrone", str(walkthrough["sample"] / "VisDrone2019-DET-val"),
                        str(tmp / "valonly")], cwd=cwd, env=walkthrough["env"], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    names = "\n".join(f"  {i}: {n}" for i, n in enumerate(
        ["pedestrian", "people", "bicycle", "car", "van", "truck", "tricycle", "awning-tricycle", "bus", "motor"]))
    y = tmp / "valonly.yaml"
    y.write_text(f"path: {tmp / 'valonly'}\nval: images/val\nnames:\n{names}\n")  # no train key at all
    best = cwd / "runs" / "yolov5s-ema" / "weights" / "best.pt"
    r = subprocess.run([sys.executable, str(ROOT / "val_attn.py"), "--weights", str(best), "--data", str(y), "--imgsz", "64"],
                       cwd=cwd, env=walkthrough["env"], capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    assert "no 'train' split; validation only" in r.stdout and "ultralytics:  mAP50" in r.stdout
    # the shipped VisDrone.yaml names a train split; with only val converted, validation still runs
    only_val = tmp / "only-val-cwd"
    (only_val / "datasets").mkdir(parents=True)
    (tmp / "valonly").rename(only_val / "datasets" / "VisDrone")
    r = subprocess.run([sys.executable, str(ROOT / "val_attn.py"), "--weights", str(best), "--data", "VisDrone.yaml",
                        "--imgsz", "64"], cwd=only_val, env=walkthrough["env"], capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    assert "VisDrone ignored regions: mAP50" in r.stdout
    # training still needs the train split, said in one line
    r = subprocess.run([sys.executable, str(ROOT / "train_attn.py"), "--cfg", "yolov5n.yaml", "--data", str(y),
                        "--epochs", "1", "--imgsz", "64"], cwd=only_val, env=walkthrough["env"], capture_output=True,
                       text=True, timeout=600)
    assert r.returncode == 2 and r.stderr.strip().splitlines()[-1].startswith(f"error: --data {y}: no 'train' split")


def _converted(root: Path, split: str):
    (root / "images" / split).mkdir(parents=True)
    (root / "labels" / split).mkdir(parents=True)
    Image.new("RGB", (32, 32)).save(root / "images" / split / "a.jpg")
    (root / "labels" / split / "a.txt").write_text("0 0.5 0.5 0.2 0.2\n")


def test_relative_path_found_in_cwd_datasets_is_handed_over_absolute(tmp_path, monkeypatch, capsys):
    import yaml

    from yolo_attn.data.lookup import resolve_data

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("YOLO_ATTN_DATASETS", str(tmp_path / "cache"))
    for split in ("train", "val"):
        _converted(tmp_path / "datasets" / "VisDrone", split)
    out = Path(resolve_data("VisDrone.yaml"))
    assert out.parent == tmp_path / "cache" / "resolved-yamls"
    d = yaml.safe_load(out.read_text())
    assert d["path"] == str((tmp_path / "datasets" / "VisDrone").resolve()) and d["visdrone_ignore"] == "ignore"
    assert "found in ./datasets/ of the working directory" in capsys.readouterr().out
    assert resolve_data("VisDrone.yaml") == str(out)  # same content: the same file


def test_val_only_dataset_resolves_for_validation_not_training(tmp_path, monkeypatch):
    import yaml

    from yolo_attn.data.lookup import resolve_data
    from yolo_attn.errors import UsageError

    monkeypatch.setenv("YOLO_ATTN_DATASETS", str(tmp_path / "cache"))
    _converted(tmp_path / "ds", "val")
    y = tmp_path / "v.yaml"
    y.write_text(f"path: {tmp_path / 'ds'}\nval: images/val\nnames: [a]\n")
    d = yaml.safe_load(Path(resolve_data(str(y), splits=("val", "val"))).read_text())
    assert d["train"] == d["val"] == "images/val"
    with pytest.raises(UsageError, match=r"no 'train' split in this dataset yaml.*val_attn.py needs only 'names' and 'val'"):
        resolve_data(str(y))

"""Dataset code: the synthetic generator, the VisDrone converter, the COCO json converter, dataset-yaml checks."""

import hashlib
import json
import subprocess
import sys

import pytest
from PIL import Image

from conftest import subprocess_env
from yolo_attn.data.lookup import resolve_data
from yolo_attn.errors import UsageError
from yolo_attn.data import coco as coco_conv
from yolo_attn.data import visdrone
from yolo_attn.data.synthetic import NAMES, make_dataset


def _digest(root):
    files = sorted(p for p in root.rglob("*") if p.is_file())
    return {str(p.relative_to(root)): hashlib.md5(p.read_bytes()).hexdigest() for p in files}


def test_synthetic_set_is_deterministic_and_complete(tmp_path):
    a = make_dataset(tmp_path / "a", n_train=6, n_val=3, imgsz=64, seed=1)
    b = make_dataset(tmp_path / "b", n_train=6, n_val=3, imgsz=64, seed=1)
    da, db = _digest(tmp_path / "a"), _digest(tmp_path / "b")
    da.pop("shapes.yaml"), db.pop("shapes.yaml")  # holds its own absolute path
    assert da == db and len(da) == 2 * (6 + 3)
    assert a.name == "shapes.yaml" and a.parent == (tmp_path / "a").resolve()
    for f in (tmp_path / "a" / "labels" / "train").glob("*.txt"):
        rows = [line.split() for line in f.read_text().splitlines()]
        assert 1 <= len(rows) <= 4
        for cls, *box in rows:
            assert 0 <= int(cls) < len(NAMES) and all(0 < float(v) <= 1 for v in box)
    with Image.open(tmp_path / "a" / "images" / "val" / "000000.png") as im:
        assert im.size == (64, 64)
    # a different seed gives different images
    c = make_dataset(tmp_path / "c", n_train=6, n_val=3, imgsz=64, seed=2)
    assert _digest(c.parent)["images/train/000000.png"] != da["images/train/000000.png"]


def test_synthetic_set_writes_nothing_when_complete(tmp_path):
    y = make_dataset(tmp_path, n_train=4, n_val=2, imgsz=64)
    before = {p: p.stat().st_mtime_ns for p in tmp_path.rglob("*")}
    assert make_dataset(tmp_path, n_train=4, n_val=2, imgsz=64) == y
    assert {p: p.stat().st_mtime_ns for p in tmp_path.rglob("*")} == before
    (tmp_path / "labels" / "val" / "000001.txt").unlink()  # incomplete: regenerated
    make_dataset(tmp_path, n_train=4, n_val=2, imgsz=64)
    assert (tmp_path / "labels" / "val" / "000001.txt").is_file()
    with pytest.raises(FileExistsError, match="different synthetic set"):
        make_dataset(tmp_path, n_train=5, n_val=2, imgsz=64)


def _write_visdrone_sample(root):
    """Two 100x80 images in the official layout: targets, an ignored region, 'others', score 0, a box past the border."""
    (root / "images").mkdir(parents=True)
    (root / "annotations").mkdir()
    for name in ("0000001_a", "0000002_b"):
        Image.new("RGB", (100, 80), (90, 90, 90)).save(root / "images" / f"{name}.jpg")
    (root / "annotations" / "0000001_a.txt").write_text(
        "10,20,30,40,1,4,0,0\n"      # car -> class 3
        "0,0,20,10,0,0,0,0\n"        # ignored region (category 0)
        "50,50,10,10,1,11,0,0\n"     # others: not a target, kept as ignore
        "60,10,8,8,0,1,0,0\n"        # pedestrian with score 0: ignore flag
        "90,70,20,20,1,1,0,1,\n"     # pedestrian past the border -> clipped to 90..100, 70..80
    )
    (root / "annotations" / "0000002_b.txt").write_text("5,5,50,50,0,0,0,0\n")  # only an ignored region


def test_visdrone_converter_cli(tmp_path):
    src, dst = tmp_path / "VisDrone2019-DET-val", tmp_path / "out"
    _write_visdrone_sample(src)
    r = subprocess.run([sys.executable, "-m", "yolo_attn.data.visdrone", str(src), str(dst)],
                       capture_output=True, text=True, env=subprocess_env(), timeout=300)
    assert r.returncode == 0, r.stderr
    assert "val: 2 images, 2 boxes" in r.stdout
    labels = (dst / "labels" / "val" / "0000001_a.txt").read_text().splitlines()
    assert labels == ["3 0.250000 0.500000 0.300000 0.500000", "0 0.950000 0.937500 0.100000 0.125000"]
    assert (dst / "labels" / "val" / "0000002_b.txt").read_text() == ""  # no targets: empty label file
    assert (dst / "ignore" / "val" / "0000001_a.txt").read_text().splitlines() == ["0 0 20 10", "50 50 60 60", "60 10 68 18"]
    assert (dst / "ignore" / "val" / "0000002_b.txt").read_text().splitlines() == ["5 5 55 55"]
    assert (dst / "images" / "val" / "0000001_a.jpg").read_bytes() == (src / "images" / "0000001_a.jpg").read_bytes()


def test_visdrone_converter_errors(tmp_path, capsys):
    assert visdrone.main([str(tmp_path / "nope"), str(tmp_path / "out")]) == 2
    assert "no such folder" in capsys.readouterr().err
    with pytest.raises(ValueError, match=r"a.txt:2: category 12"):
        visdrone.convert_annotation(["1,1,5,5,1,1,0,0", "1,1,5,5,1,12,0,0"], 10, 10, where="a.txt")
    with pytest.raises(ValueError, match="expected 'x,y,w,h"):
        visdrone.convert_annotation(["1,1,5"], 10, 10)


def test_coco_json_converter(tmp_path):
    imgs = tmp_path / "val2017"
    imgs.mkdir()
    Image.new("RGB", (200, 100)).save(imgs / "000000000001.jpg")
    Image.new("RGB", (50, 50)).save(imgs / "000000000002.jpg")
    gt = {
        "images": [{"id": 1, "file_name": "000000000001.jpg", "width": 200, "height": 100},
                   {"id": 2, "file_name": "000000000002.jpg", "width": 50, "height": 50}],
        "categories": [{"id": 18, "name": "dog"}, {"id": 1, "name": "person"}],
        "annotations": [
            {"id": 1, "image_id": 1, "category_id": 18, "bbox": [20, 10, 40, 50], "area": 2000, "iscrowd": 0},
            {"id": 2, "image_id": 1, "category_id": 1, "bbox": [180, 80, 40, 40], "area": 1600, "iscrowd": 0},
            {"id": 3, "image_id": 1, "category_id": 1, "bbox": [0, 0, 10, 10], "area": 100, "iscrowd": 1},
        ],
    }
    ann = tmp_path / "instances_val2017.json"
    ann.write_text(json.dumps(gt))
    out = coco_conv.convert(ann, imgs, tmp_path / "coco")
    assert out == tmp_path / "coco" / "val2017.yaml"
    # categories sorted by id: person (1) -> 0, dog (18) -> 1; crowd skipped; box past the border clipped
    assert (tmp_path / "coco" / "labels" / "val2017" / "000000000001.txt").read_text().splitlines() == [
        "1 0.200000 0.350000 0.200000 0.500000", "0 0.950000 0.900000 0.100000 0.200000"]
    assert (tmp_path / "coco" / "labels" / "val2017" / "000000000002.txt").read_text() == ""
    assert json.loads((tmp_path / "coco" / "annotations" / "instances_val2017.json").read_text()) == gt
    assert resolve_data(str(out)) == str(out.resolve())  # the written yaml passes the trainer's checks


def test_missing_dataset_names_path_and_fix(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(UsageError, match=r"VisDrone.*does not exist.*python -m yolo_attn.data.visdrone"):
        resolve_data("VisDrone.yaml")
    with pytest.raises(UsageError, match=r"train2017 does not exist.*python -m yolo_attn.data.coco"):
        resolve_data("coco.yaml")
    with pytest.raises(UsageError, match=r"--data nowhere.yaml: no such dataset yaml"):
        resolve_data("nowhere.yaml")

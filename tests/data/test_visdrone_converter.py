"""The VisDrone converter refuses malformed fields, counts dropped boxes, refuses unknown splits and leaves nothing
half-written (issue 22.8)."""

import hashlib
from pathlib import Path

import pytest
from PIL import Image

from yolo_attn.data import visdrone


def _sample(root, annotations: dict):
    (root / "images").mkdir(parents=True)
    (root / "annotations").mkdir()
    for name, text in annotations.items():
        Image.new("RGB", (100, 80), (90, 90, 90)).save(root / "images" / f"{name}.jpg")
        (root / "annotations" / f"{name}.txt").write_text(text)
    return root


def _tree(root):
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else "dir"
            for p in sorted(root.rglob("*"))} if root.exists() else None


@pytest.mark.parametrize("line, message", [
    ("12.7,30.9,20.5,20.2,1,4,0,0", r"a.txt:2: x '12.7' is not an integer"),
    ("12,30,20,20,0.9,4,0,0", r"a.txt:2: score '0.9' is not an integer"),
    ("12,30,20,20,1,4.7,0,0", r"a.txt:2: category '4.7' is not an integer"),
    ("12,30,20,20,1,4,none,0", r"a.txt:2: truncation 'none' is not an integer"),
    ("12,30,20,20,1,4,0,x", r"a.txt:2: occlusion 'x' is not an integer"),
    ("12,30,20,20,2,4,0,0", r"a.txt:2: score 2 must be 0 \(ignore\) or 1 \(target\)"),
    ("12,30,20,20,1,12,0,0", r"a.txt:2: category 12 is not a VisDrone-DET category"),
    ("12,30,20,20,1,4", r"a.txt:2: expected .x,y,w,h,score,category,truncation,occlusion. \(8 integer fields\)"),
])
def test_malformed_fields_are_errors_naming_file_and_line(line, message):
    with pytest.raises(ValueError, match=message):
        visdrone.parse_annotation(["1,1,5,5,1,1,0,0", line], 100, 80, where="a.txt")


def test_boxes_outside_the_image_are_dropped_and_counted(tmp_path, capsys):
    src = _sample(tmp_path / "VisDrone2019-DET-val", {
        "a": "10,20,30,40,1,4,0,0\n"  # target
             "100,10,5,5,1,1,0,0\n"  # right of the image: dropped
             "-20,-20,10,10,1,1,0,0\n"  # above-left: dropped
             "5,80,5,5,0,0,0,0\n",  # ignored region below the image: dropped too
        "b": "90,70,20,20,1,1,0,1\n",  # partly inside: clipped, kept
    })
    assert visdrone.main([str(src), str(tmp_path / "out")]) == 0
    out = capsys.readouterr().out
    assert "val: 2 images, 2 boxes, 0 ignored regions, 3 boxes dropped (wholly outside the image)" in out
    assert (tmp_path / "out" / "labels" / "val" / "a.txt").read_text() == "3 0.250000 0.500000 0.300000 0.500000\n"


def test_unknown_split_is_refused_and_nothing_written(tmp_path, capsys):
    src = _sample(tmp_path / "VisDrone2019-DET-val", {"a": "10,20,30,40,1,4,0,0\n"})
    assert visdrone.main([str(src), str(tmp_path / "datasets" / "VisDrone"), "--split", "training"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: --split training: unknown split; use train, val or test")
    assert not (tmp_path / "datasets").exists()
    assert visdrone.main([str(src), str(tmp_path / "out2"), "--split", "test-dev"]) == 0
    assert (tmp_path / "out2" / "labels" / "test" / "a.txt").is_file()


def test_failed_conversion_leaves_nothing_half_written(tmp_path, capsys):
    good = {f"{i:07d}_ok": "10,20,30,40,1,4,0,0\n" for i in range(3)}  # sorted before the bad one
    src = _sample(tmp_path / "VisDrone2019-DET-train", {**good, "9999999_bad": "1,1,5,5,1,1,0,0\n1,1,5.5,5,1,1,0,0\n"})
    # a fresh destination: no folder at all afterwards (nor its parent)
    assert visdrone.main([str(src), str(tmp_path / "datasets" / "VisDrone")]) == 2
    assert "9999999_bad.txt:2: w '5.5' is not an integer" in capsys.readouterr().err
    assert not (tmp_path / "datasets").exists()
    # an existing dataset (val converted before): byte-identical afterwards, no temporary folder left
    val = _sample(tmp_path / "VisDrone2019-DET-val", {"v": "10,20,30,40,1,4,0,0\n"})
    dst = tmp_path / "ds" / "VisDrone"
    assert visdrone.main([str(val), str(dst)]) == 0
    before = _tree(tmp_path / "ds")
    assert visdrone.main([str(src), str(dst)]) == 2
    assert _tree(tmp_path / "ds") == before
    assert not (dst / "labels" / "train").exists()


def test_blocked_target_moves_nothing(tmp_path, capsys):
    """A folder where a label file goes (issue 26): one error line naming it, DST unchanged (not 2 of 3 labels)."""
    src = _sample(tmp_path / "VisDrone2019-DET-val", {n: "10,20,30,40,1,4,0,0\n" for n in ("a", "b", "c")})
    dst = tmp_path / "ds"
    (dst / "labels" / "val" / "b.txt").mkdir(parents=True)
    before = _tree(dst)
    assert visdrone.main([str(src), str(dst)]) == 2
    err = capsys.readouterr().err
    assert err.count("error:") == 1 and "b.txt is a folder where the conversion writes a file" in err, err
    assert _tree(dst) == before and not list(tmp_path.glob(".ds.converting-*"))


def test_a_move_failing_midway_puts_everything_back(tmp_path, monkeypatch, capsys):
    src = _sample(tmp_path / "VisDrone2019-DET-val", {n: "10,20,30,40,1,4,0,0\n" for n in ("a", "b", "c")})
    dst = tmp_path / "ds"
    assert visdrone.main([str(src), str(dst)]) == 0
    (src / "annotations" / "a.txt").write_text("10,20,30,41,1,4,0,0\n")  # a re-conversion with other content
    before = _tree(dst)
    real = visdrone.os.replace

    def flaky(a, b):  # moving the last label in fails, after labels/val/a.txt (changed) was replaced
        if ".converting-" in str(a) and ".replaced" not in str(a) and Path(a).as_posix().endswith("labels/val/c.txt"):
            raise OSError(28, "No space left on device")
        return real(a, b)

    monkeypatch.setattr(visdrone.os, "replace", flaky)
    assert visdrone.main([str(src), str(dst)]) == 2
    assert "No space left on device" in capsys.readouterr().err
    monkeypatch.setattr(visdrone.os, "replace", real)
    assert _tree(dst) == before


@pytest.mark.parametrize("line", ["12,30,20,20,1,4,0,0,0", "12,30,20,20,1,4,0,0,7,9"])
def test_a_line_with_more_than_8_fields_is_refused(line):
    """VisDrone-DET lines hold exactly 8 fields; a 9th (another data set's format, a merged line) is an error."""
    with pytest.raises(ValueError, match=r"a.txt:2: expected .x,y,w,h,score,category,truncation,occlusion. "
                                         r"\(8 integer fields\)"):
        visdrone.parse_annotation(["1,1,5,5,1,1,0,0", line], 100, 80, where="a.txt")


@pytest.mark.parametrize("folder", ["VisDrone2019-DET-training", "VisDrone2019-DET-test-challenge", "my_images"])
def test_an_unknown_split_folder_is_refused_not_converted_as_train(tmp_path, capsys, folder):
    src = _sample(tmp_path / folder, {"a": "10,20,30,40,1,4,0,0\n"})
    assert visdrone.main([str(src), str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {src}: cannot tell the split from the folder name; pass --split train|val|test")
    assert len(err.strip().splitlines()) == 1
    assert not (tmp_path / "out").exists()
    with pytest.raises(ValueError, match="cannot tell the split"):
        visdrone.convert_split(src, tmp_path / "out3")
    assert not (tmp_path / "out3" / "labels").exists()

"""pycocotools evaluation on tiny COCO-format sets written here, and the VisDrone ignored-region protocol."""

import contextlib
import io
import json

import numpy as np
import pytest
from PIL import Image

from yolo_attn.eval import coco_eval, drop_in_ignored, visdrone_eval

NAMES = {0: "cat", 1: "dog"}


def _gt():
    """Three 100x100 images; image 1: a cat and a dog, image 2: a cat, image 3: nothing. Category ids 7 and 3."""
    return {
        "images": [{"id": i, "file_name": f"im{i}.jpg", "width": 100, "height": 100} for i in (1, 2, 3)],
        "categories": [{"id": 7, "name": "cat"}, {"id": 3, "name": "dog"}],
        "annotations": [
            {"id": 1, "image_id": 1, "category_id": 7, "bbox": [10, 10, 40, 40], "area": 1600, "iscrowd": 0},
            {"id": 2, "image_id": 1, "category_id": 3, "bbox": [60, 60, 30, 30], "area": 900, "iscrowd": 0},
            {"id": 3, "image_id": 2, "category_id": 7, "bbox": [20, 30, 50, 40], "area": 2000, "iscrowd": 0},
        ],
    }


def _det(f, cls, bbox, score):
    return {"file_name": f, "cls": cls, "bbox": bbox, "score": score}


def _reference_stats(gt, dets):
    """Fixture: plain pycocotools COCOeval.summarize on the same data (ids mapped by hand)."""
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    ids = {"im1.jpg": 1, "im2.jpg": 2, "im3.jpg": 3}
    cats = {0: 7, 1: 3}
    res = [{"image_id": ids[d["file_name"]], "category_id": cats[d["cls"]], "bbox": d["bbox"], "score": d["score"]} for d in dets]
    with contextlib.redirect_stdout(io.StringIO()):
        c = COCO()
        c.dataset = dict(_gt(), info={}, licenses=[])
        c.createIndex()
        e = COCOeval(c, c.loadRes(res), "bbox")
        e.evaluate(), e.accumulate(), e.summarize()
    return e.stats


def test_perfect_detections_score_one(tmp_path):
    f = tmp_path / "gt.json"
    f.write_text(json.dumps(_gt()))
    dets = [_det("im1.jpg", 0, [10, 10, 40, 40], 0.9), _det("im1.jpg", 1, [60, 60, 30, 30], 0.8),
            _det("im2.jpg", 0, [20, 30, 50, 40], 0.7)]
    r = coco_eval(f, dets, NAMES)
    assert r["map50"] == pytest.approx(1.0) and r["map50_95"] == pytest.approx(1.0)


def test_matches_pycocotools_summarize():
    dets = [
        _det("im1.jpg", 0, [12, 10, 40, 38], 0.9),   # good cat
        _det("im1.jpg", 1, [62, 58, 30, 34], 0.6),   # looser dog
        _det("im2.jpg", 0, [40, 40, 40, 40], 0.95),  # poor cat (IoU ~0.3): false positive at .5
        _det("im3.jpg", 1, [5, 5, 20, 20], 0.3),     # false positive on an empty image
    ]
    ours = coco_eval(_gt(), dets, NAMES)["stats"]
    ref = _reference_stats(_gt(), dets)
    np.testing.assert_allclose(ours, ref, atol=1e-12)
    # hand check of AP50: cat has 2 GT, 1 TP ranked below 1 FP -> 101-point AP 51/101 * 0.5 precision; dog 1.0
    assert ours[1] == pytest.approx((51 * 0.5 / 101 + 1.0) / 2)


def test_class_order_falls_back_to_sorted_ids():
    gt = _gt()
    for c in gt["categories"]:
        c["name"] = c["name"].upper()  # names no longer match: class 0 -> id 3, class 1 -> id 7
    dets = [_det("im1.jpg", 1, [10, 10, 40, 40], 0.9), _det("im1.jpg", 0, [60, 60, 30, 30], 0.8),
            _det("im2.jpg", 1, [20, 30, 50, 40], 0.7)]
    assert coco_eval(gt, dets, NAMES)["map50"] == pytest.approx(1.0)
    with pytest.raises(ValueError, match="does not list"):
        coco_eval(gt, [_det("other.jpg", 0, [0, 0, 5, 5], 0.5)], NAMES)


def test_drop_in_ignored_uses_area_fraction():
    ignored = np.array([[0, 0, 50, 100]])
    dets = [_det("a", 0, [10, 10, 20, 20], 0.9),   # fully inside -> dropped
            _det("a", 0, [40, 10, 20, 20], 0.9),   # half inside (0.5, not > 0.5) -> kept
            _det("a", 0, [35, 10, 20, 20], 0.9),   # 75% inside -> dropped
            _det("a", 0, [60, 10, 20, 20], 0.9)]   # outside -> kept
    kept = drop_in_ignored(dets, ignored, 100, 100)
    assert [d["bbox"][0] for d in kept] == [40, 60]


def test_visdrone_ignored_regions_are_not_false_positives(tmp_path):
    img_dir, lab_dir, ign_dir = (tmp_path / d / "val" for d in ("images", "labels", "ignore"))
    for d in (img_dir, lab_dir, ign_dir):
        d.mkdir(parents=True)
    Image.new("RGB", (200, 100)).save(img_dir / "a.jpg")
    (lab_dir / "a.txt").write_text("0 0.250000 0.500000 0.200000 0.400000\n")  # one target at x 30..70, y 30..70
    (ign_dir / "a.txt").write_text("120 0 200 100\n")                          # an ignored crowd on the right
    dets = [_det("a.jpg", 0, [130, 20, 30, 30], 0.95),  # inside the ignored region, ranked first
            _det("a.jpg", 0, [30, 30, 40, 40], 0.90)]   # the target
    r = visdrone_eval([img_dir / "a.jpg"], dets, {0: "pedestrian"})
    assert r["dropped"] == 1
    assert r["ignore"]["map50"] == pytest.approx(1.0)
    assert r["plain"]["map50"] == pytest.approx(0.5)  # the FP ranked first: precision 1/2 at recall 1


def test_visdrone_ground_truth_inside_ignored_regions_is_dropped_too(tmp_path):
    img_dir, lab_dir, ign_dir = (tmp_path / d / "val" for d in ("images", "labels", "ignore"))
    for d in (img_dir, lab_dir, ign_dir):
        d.mkdir(parents=True)
    Image.new("RGB", (200, 100)).save(img_dir / "a.jpg")
    # two targets: x 30..70 (kept) and x 140..180 (inside the ignored region, missed by the detector)
    (lab_dir / "a.txt").write_text("0 0.250000 0.500000 0.200000 0.400000\n0 0.800000 0.500000 0.200000 0.400000\n")
    (ign_dir / "a.txt").write_text("120 0 200 100\n")
    r = visdrone_eval([img_dir / "a.jpg"], [_det("a.jpg", 0, [30, 30, 40, 40], 0.9)], {0: "pedestrian"})
    assert (r["dropped"], r["dropped_gt"]) == (0, 1)
    assert r["plain"]["map50"] == pytest.approx(51 / 101)  # recall 1/2 with precision 1
    assert r["ignore"]["map50"] == pytest.approx(1.0)

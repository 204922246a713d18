"""``yolo_attn.engine.anchor.setup.trainer_for``: the one place that chooses a run's trainer, for a fresh model and for
a checkpoint to resume (the anchor-based head gets ``AnchorDetectionTrainer``, everything else its task's trainer)."""

from __future__ import annotations

import pytest
from ultralytics.nn.tasks import DetectionModel

import yolo_attn  # noqa: F401  (registers the modules and the hook)
from yolo_attn.engine.anchor.setup import trainer_for
from yolo_attn.engine.anchor.trainer import AnchorDetectionTrainer
from yolo_attn.engine.trainers import AttnDetectionTrainer, AttnSegmentationTrainer
from yolo_attn.graph.anchors import P5_ANCHORS


def _anchor_yaml(tmp_path):
    from ultralytics.nn.tasks import yaml_model_load

    d = yaml_model_load("yolov5n.yaml")
    d["anchors"] = P5_ANCHORS
    d["head"][-1] = [d["head"][-1][0], 1, "Detect", ["nc", "anchors"]]
    return d


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    plain = DetectionModel("yolov5n.yaml", verbose=False)
    anchor = DetectionModel(_anchor_yaml(tmp_path_factory.mktemp("a")), verbose=False)
    return plain, anchor


def test_a_fresh_model_gets_its_heads_trainer(models):
    plain, anchor = models
    assert trainer_for("detect", plain) is AttnDetectionTrainer
    assert trainer_for("detect", anchor) is AnchorDetectionTrainer
    assert trainer_for("segment", plain) is AttnSegmentationTrainer


def test_a_checkpoint_to_resume_gets_the_same_choice(models):
    plain, anchor = models
    assert trainer_for("detect", {"model": plain, "ema": None}) is AttnDetectionTrainer
    assert trainer_for("detect", {"ema": anchor, "model": plain}) is AnchorDetectionTrainer  # ema first, as ultralytics
    assert trainer_for("detect", {"model": anchor}) is AnchorDetectionTrainer


def test_only_the_anchor_trainer_takes_yolov5_settings():
    assert AnchorDetectionTrainer.takes_yolov5_hyp is True
    assert not getattr(AttnDetectionTrainer, "takes_yolov5_hyp", False)

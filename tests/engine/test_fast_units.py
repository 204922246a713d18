"""Fast checks (no training, no subprocess) of five behaviours that only slow tests held before (issue 29):
finalise's last-epoch test, started_as's record winning over resumed args, the grid's interrupt flag, the thread
callbacks (validation included), and the anchor trainer's loss gains at the run's image size."""

from pathlib import Path
from types import SimpleNamespace

import pytest
import torch

from yolo_attn.engine.finalise import finalise, is_unfinalised, planned_epochs


# ------------------------------------------------------------------------------------------ engine/finalise.py
@pytest.mark.parametrize("epoch,epochs,optimizer,expected", [
    (9, 10, {"state": 1}, True),  # the final epoch (0-based 9 of 10) saved, optimizer still in: unfinalised
    (8, 10, {"state": 1}, False),  # one epoch short: resumable, not unfinalised
    (10, 10, {"state": 1}, True),
    (0, 1, {"state": 1}, True),
    (9, 10, None, False),  # stripped already: finished
    (-1, 10, {"state": 1}, False),  # ultralytics' -1 marks a finished, stripped checkpoint
])
def test_is_unfinalised_is_the_final_epoch_with_its_optimizer(epoch, epochs, optimizer, expected):
    ckpt = {"epoch": epoch, "optimizer": optimizer, "train_args": {"epochs": epochs}}
    assert is_unfinalised(ckpt) is expected


def test_planned_epochs_reads_train_args():
    assert planned_epochs({"train_args": {"epochs": "3"}}) == 3
    assert planned_epochs({"train_args": {}}) is None and planned_epochs({}) is None
    assert planned_epochs({"train_args": {"epochs": "x"}}) is None


def test_finalise_refuses_a_run_one_epoch_short(tmp_path):
    (tmp_path / "weights").mkdir()
    torch.save({"epoch": 1, "optimizer": {"state": {}}, "train_args": {"epochs": 3}, "model": None},
               tmp_path / "weights" / "last.pt")
    before = (tmp_path / "weights" / "last.pt").read_bytes()
    with pytest.raises(ValueError, match="not a run stopped after its final epoch"):
        finalise(tmp_path)
    assert (tmp_path / "weights" / "last.pt").read_bytes() == before
    with pytest.raises(ValueError, match="no weights/last.pt"):
        finalise(tmp_path / "nothing")


# ------------------------------------------------------------------------------------------ started_as
def _started_as():
    from yolo_attn.graph.records import started_as

    return started_as


def test_started_as_the_start_record_wins_over_resumed_args():
    started_as = _started_as()
    args = {"resume": "runs/a/weights/last.pt", "model": "runs/a/weights/last.pt", "pretrained": True, "epochs": 5}
    record = {"started_as": {"model": "yolov5n-se.yaml", "pretrained": False}, "yaml_file": "other.yaml"}
    out = started_as(args, record)
    assert out["model"] == "yolov5n-se.yaml" and out["pretrained"] is False
    assert out["epochs"] == 5 and out["resume"] == args["resume"]  # the rest of args kept
    assert args["model"] == "runs/a/weights/last.pt"  # the caller's dict is not changed


def test_started_as_without_a_record_or_resume():
    started_as = _started_as()
    resumed = {"resume": True, "model": "runs/a/weights/last.pt", "pretrained": True}
    assert started_as(resumed, {"yaml_file": "yolov5n-cbam.yaml"})["model"] == "yolov5n-cbam.yaml"
    assert started_as(resumed, {})["model"] == "runs/a/weights/last.pt"
    fresh = {"resume": False, "model": "yolov5n.yaml", "pretrained": True}
    assert started_as(fresh, {"started_as": {"model": "x.yaml", "pretrained": False}}) == fresh  # never resumed


# ------------------------------------------------------------------------------------------ the grid's interrupt flag
def _cells(tmp_path, n=3):
    from yolo_attn.grid.cells import Cell

    return [Cell(name=f"c{i}", base="yolov5n.yaml", module=None, at=None, seed=i, run_dir=str(tmp_path / f"c{i}"),
                 argv=()) for i in range(n)]


def _fake_ray(monkeypatch, fit):
    from yolo_attn.grid import run

    monkeypatch.setattr(run, "require_ray", lambda: SimpleNamespace())
    monkeypatch.setattr(run, "init_ray", lambda address: False)
    monkeypatch.setattr(run, "_fit", fit)
    return run


def test_grid_marks_interrupted_when_trials_have_no_result(tmp_path, monkeypatch):
    def fit(tune, todo, total, grid_dir, status, echo, train_argv, **kw):  # only the first trial reported back
        status[todo[0].name] = {"status": "finished", "this_run": "trained", "error": ""}

    run = _fake_ray(monkeypatch, fit)
    status = run.run_grid(_cells(tmp_path), tmp_path, train_argv=print, echo=lambda *a, **k: None)
    assert status["_interrupted"] is True
    assert status["c0"]["status"] == "finished" and status["c1"]["status"] == status["c2"]["status"] == "not started"


def test_grid_marks_interrupted_on_keyboard_interrupt(tmp_path, monkeypatch):
    def fit(tune, todo, total, grid_dir, status, echo, train_argv, **kw):
        for c in todo:
            status[c.name] = {"status": "finished", "this_run": "trained", "error": ""}
        raise KeyboardInterrupt

    run = _fake_ray(monkeypatch, fit)
    assert run.run_grid(_cells(tmp_path), tmp_path, train_argv=print, echo=lambda *a, **k: None)["_interrupted"] is True


def test_grid_not_interrupted_when_every_trial_reported(tmp_path, monkeypatch):
    def fit(tune, todo, total, grid_dir, status, echo, train_argv, **kw):
        for c in todo:
            status[c.name] = {"status": "failed" if c.name == "c1" else "finished", "this_run": "trained", "error": ""}

    run = _fake_ray(monkeypatch, fit)
    status = run.run_grid(_cells(tmp_path), tmp_path, train_argv=print, echo=lambda *a, **k: None)
    assert "_interrupted" not in status and status["c1"]["status"] == "failed"


# ------------------------------------------------------------------------------------------ plugin/threads.py
@pytest.fixture
def four_cores(monkeypatch):
    """A 4-core machine with torch at 1 thread, whatever this machine has: set_num_threads calls are recorded."""
    calls = []
    monkeypatch.setattr("os.cpu_count", lambda: 4)
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.setattr(torch, "set_num_threads", calls.append)
    return calls


def test_cpu_threads_counts_every_core_capped_by_omp(four_cores, monkeypatch):
    from yolo_attn.plugin.threads import cpu_threads

    assert cpu_threads() == 4
    monkeypatch.setenv("OMP_NUM_THREADS", "2")
    assert cpu_threads() == 2
    monkeypatch.setenv("OMP_NUM_THREADS", "0")
    assert cpu_threads() == 4


class _Trainer:
    def __init__(self, device="cpu", workers=0):
        self.device, self.args = torch.device(device), SimpleNamespace(workers=workers)
        self.callbacks = {}

    def add_callback(self, event, fn):
        self.callbacks.setdefault(event, []).append(fn)

    def fire(self, event):
        for fn in self.callbacks.get(event, []):
            fn(self)


@pytest.mark.parametrize("event", ["on_pretrain_routine_end", "on_train_start", "on_train_epoch_start", "on_val_start"])
def test_every_reset_point_including_validation_sets_all_cores(four_cores, event):
    """ultralytics' select_device (run again by the validator) sets cpu_count - 1 threads; each event resets it."""
    from yolo_attn.plugin.threads import use_all_cores

    trainer = _Trainer()
    assert use_all_cores(trainer) is True
    assert four_cores == [4]  # applied at once
    four_cores.clear()
    trainer.fire(event)
    assert four_cores == [4], event
    assert use_all_cores(trainer) and all(len(v) == 1 for v in trainer.callbacks.values())  # not added twice


def test_threads_left_alone_with_workers_or_gpu(four_cores):
    from yolo_attn.plugin.threads import use_all_cores

    for trainer in (_Trainer(workers=2), _Trainer(device="meta")):
        assert use_all_cores(trainer) is False and trainer.callbacks == {}
    assert four_cores == []


# ------------------------------------------------------------------------------------------ anchor trainer loss gains
ANCHOR_YAML = {"nc": 3, "depth_multiple": 0.33, "width_multiple": 0.25,
               "anchors": [[10, 13, 16, 30, 33, 23], [30, 61, 62, 45, 59, 119]],
               "backbone": [[-1, 1, "Conv", [64, 3, 2]], [-1, 1, "Conv", [128, 3, 2]], [-1, 1, "Conv", [128, 3, 2]],
                            [-1, 1, "Conv", [256, 3, 2]]],
               "head": [[[2, 3], 1, "Detect", ["nc", "anchors"]]]}


@pytest.mark.parametrize("imgsz", [320, [320, 256], 1280])
def test_anchor_trainer_scales_loss_gains_at_the_run_image_size(imgsz):
    """YOLOv5's train.py: box x 3/nl, cls x nc/80 x 3/nl, obj x (imgsz/640)^2 x 3/nl (written out here, not via
    loss_hyp); nl = 2 levels, nc = 3; a list imgsz counts its largest side."""
    from yolo_attn.anchor.model import AnchorDetectionModel
    from yolo_attn.engine.anchor.trainer import AnchorDetectionTrainer

    trainer = AnchorDetectionTrainer.__new__(AnchorDetectionTrainer)  # no data, no training: only the model part
    trainer.model = AnchorDetectionModel(dict(ANCHOR_YAML), nc=3, verbose=False)
    trainer.model.yaml["hyp"] = {"obj": 0.7, "noautoanchor": True}
    trainer.data = {"nc": 3, "names": {0: "a", 1: "b", 2: "c"}}
    trainer.args = SimpleNamespace(imgsz=imgsz, box=0.05, cls=0.5)
    trainer.set_model_attributes()
    side = imgsz if isinstance(imgsz, int) else max(imgsz)
    hyp = trainer.model.hyp
    assert hyp["box"] == pytest.approx(0.05 * 3 / 2)
    assert hyp["cls"] == pytest.approx(0.5 * 3 / 80 * 3 / 2)
    assert hyp["obj"] == pytest.approx(0.7 * (side / 640) ** 2 * 3 / 2)
    assert "noautoanchor" not in hyp and hyp["anchor_t"] == 4.0


def test_resume_checks_the_recorded_data_set_first(tmp_path):
    """``--resume`` of a run whose data set has gone: one ``UsageError`` naming the recorded path and the way on
    (before: ultralytics' traceback once the trainer had started). A run with its data in place passes."""
    from yolo_attn.data.synthetic import make_dataset
    from yolo_attn.engine.train import _check_resume_data
    from yolo_attn.errors import UsageError

    gone = tmp_path / "gone" / "shapes.yaml"
    with pytest.raises(UsageError, match=r"--resume last\.pt: the run's data set .*gone.*is gone or incomplete .*"
                                         r"--weights last\.pt --data NEW\.yaml"):
        _check_resume_data("last.pt", {"train_args": {"data": str(gone)}})
    here = make_dataset(tmp_path / "here", n_train=2, n_val=2, imgsz=32)
    _check_resume_data("last.pt", {"train_args": {"data": str(here)}})
    _check_resume_data("last.pt", {"train_args": {}})  # nothing recorded: ultralytics' own default applies


def test_resume_refuses_before_the_trainer_when_the_data_has_gone(tmp_path, monkeypatch):
    """``train(resume=...)`` itself makes the check (the checkpoint read is stubbed: epoch 1 of 3, optimizer kept)."""
    import yolo_attn.engine.train as engine_train
    from yolo_attn.errors import UsageError

    last = tmp_path / "run" / "weights" / "last.pt"
    last.parent.mkdir(parents=True)
    last.write_bytes(b"")
    ckpt = {"epoch": 1, "optimizer": {"state": {}}, "train_args": {"data": str(tmp_path / "gone.yaml"), "epochs": 3}}
    monkeypatch.setattr(engine_train, "check_weights", lambda path: ckpt)
    with pytest.raises(UsageError, match="the run's data set"):
        engine_train.train(resume=str(last))


@pytest.mark.parametrize("opt, size", [
    ({"imgsz": 128}, 128),  # train.py since v5.0
    ({"img_size": [640, 320]}, 640),  # before v5.0: [train, test]
    ({"imgsz": True}, None), ({"imgsz": 10 ** 6}, None), ({"imgsz": 16}, None), ({"imgsz": "640"}, None),
    ({}, None), (None, None), ("opt", None),
])
def test_yolov5_training_size_is_read_from_opt_only_when_plausible(opt, size):
    from yolo_attn.checkpoint.yolov5 import _train_imgsz

    assert _train_imgsz(opt) == size

"""CPU training with workers 0 uses every core (issue 21.11): ultralytics' select_device leaves cpu_count - 1 threads,
meant for dataloader workers that its CPU trainer then never starts."""

import os

import pytest
import torch

from yolo_attn.data.synthetic import make_dataset
from yolo_attn.plugin.threads import cpu_threads
from yolo_attn.engine.trainers import AttnDetectionTrainer


def _trainer(tmp_path, workers):
    data = make_dataset(tmp_path / "data", n_train=8, n_val=4, imgsz=64)
    args = dict(model="yolov5n.yaml", data=str(data), epochs=1, imgsz=64, batch=4, device="cpu", plots=False,
                project=str(tmp_path / "runs"), name="t", val=True)
    if workers is not None:
        args["workers"] = workers
    return AttnDetectionTrainer(overrides=args)


def _record(trainer):
    seen = {"train": [], "val": []}
    trainer.add_callback("on_train_batch_end", lambda t: seen["train"].append(torch.get_num_threads()))
    trainer.add_callback("on_val_batch_end", lambda v: seen["val"].append(torch.get_num_threads()))
    return seen


def _more_cores_than_ultralytics_uses(monkeypatch) -> int:
    """os.cpu_count() reports ultralytics' NUM_THREADS + 2 (fixed at its import from the real count): "every core"
    and ultralytics' "cpu_count - 1" then differ on any machine, a one-core one included."""
    from ultralytics.utils import NUM_THREADS

    cores = NUM_THREADS + 2
    monkeypatch.setattr(os, "cpu_count", lambda: cores)
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    return cores


def test_cpu_count_threads_capped_by_omp_num_threads(monkeypatch):
    cores = _more_cores_than_ultralytics_uses(monkeypatch)
    assert cpu_threads() == cores
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    assert cpu_threads() == 1
    monkeypatch.setenv("OMP_NUM_THREADS", str(cores + 5))  # a cap above the cores does not raise the count
    assert cpu_threads() == cores


@pytest.mark.slow
def test_cpu_trainer_with_workers_0_trains_and_validates_on_every_core(tmp_path, monkeypatch):
    cores = _more_cores_than_ultralytics_uses(monkeypatch)
    before = torch.get_num_threads()
    try:
        trainer = _trainer(tmp_path, workers=None)  # ultralytics sets workers 0 on the CPU
        assert trainer.args.workers == 0
        seen = _record(trainer)
        trainer.train()
    finally:
        torch.set_num_threads(before)
    assert seen["train"] and set(seen["train"]) == {cores}, seen
    # every validation, the final one on best.pt included (its select_device resets the count)
    assert seen["val"] and set(seen["val"]) == {cores}, seen


def test_cpu_trainer_with_workers_keeps_a_core_for_them(tmp_path, monkeypatch):
    cores = _more_cores_than_ultralytics_uses(monkeypatch)
    from ultralytics.utils import NUM_THREADS

    assert NUM_THREADS != cores  # the two answers differ, so the assertion below can fail

    before = torch.get_num_threads()
    try:
        _trainer(tmp_path, workers=2)
        assert torch.get_num_threads() == NUM_THREADS
    finally:
        torch.set_num_threads(before)

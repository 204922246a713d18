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


def test_cpu_count_threads_capped_by_omp_num_threads(monkeypatch):
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    assert cpu_threads() == os.cpu_count()
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    assert cpu_threads() == 1


@pytest.mark.slow
def test_cpu_trainer_with_workers_0_trains_and_validates_on_every_core(tmp_path, monkeypatch):
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    before = torch.get_num_threads()
    try:
        trainer = _trainer(tmp_path, workers=None)  # ultralytics sets workers 0 on the CPU
        assert trainer.args.workers == 0
        seen = _record(trainer)
        trainer.train()
    finally:
        torch.set_num_threads(before)
    assert seen["train"] and set(seen["train"]) == {os.cpu_count()}, seen
    # every validation, the final one on best.pt included (its select_device resets the count)
    assert seen["val"] and set(seen["val"]) == {os.cpu_count()}, seen


def test_cpu_trainer_with_workers_keeps_a_core_for_them(tmp_path, monkeypatch):
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    from ultralytics.utils import NUM_THREADS

    before = torch.get_num_threads()
    try:
        _trainer(tmp_path, workers=2)
        assert torch.get_num_threads() == NUM_THREADS
    finally:
        torch.set_num_threads(before)

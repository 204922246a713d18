"""Every CPU core for CPU training without dataloader workers.

ultralytics' ``select_device`` (``utils/torch_utils.py``) sets ``torch.set_num_threads(NUM_THREADS)`` on the CPU, with
``NUM_THREADS = min(8, cpu_count - 1)`` in ``utils/__init__.py``: one core is kept for dataloader workers. But
``BaseTrainer`` also forces ``workers=0`` on the CPU, so that core idles (a 2-core machine trains on one thread; 3 demo
epochs took 45.8 s with one thread and 34.3 s with two, issue 21). The trainer's validator calls ``select_device``
again for the final validation, so the setting is re-applied at the start of training, of each epoch and of each
validation through callbacks. ``OMP_NUM_THREADS``, when set (Ray sets it to a trial's CPUs), caps the count, so
concurrent grid cells on one machine do not oversubscribe it.
"""

from __future__ import annotations

import os

import torch

__all__ = ("use_all_cores", "all_cores_callbacks", "cpu_threads")


def cpu_threads() -> int:
    """``os.cpu_count()``, capped by a positive integer ``OMP_NUM_THREADS`` when one is set."""
    cores = os.cpu_count() or 1
    omp = os.environ.get("OMP_NUM_THREADS", "")
    return min(cores, int(omp)) if omp.isdigit() and int(omp) > 0 else cores


def _set_all_cores(_=None) -> None:
    torch.set_num_threads(cpu_threads())


def all_cores_callbacks() -> dict:
    """ultralytics callback events -> function that sets torch's threads to ``cpu_threads()``."""
    return {e: _set_all_cores for e in ("on_pretrain_routine_end", "on_train_start", "on_train_epoch_start",
                                         "on_val_start")}


def use_all_cores(trainer) -> bool:
    """On a CPU trainer with ``workers == 0``: use every core now and whenever ultralytics resets the thread count.

    Returns whether it applied (a GPU run, or a CPU run with dataloader workers, keeps ultralytics' choice).
    """
    if trainer.device.type != "cpu" or int(trainer.args.workers) != 0:
        return False
    for event, fn in all_cores_callbacks().items():
        if fn not in trainer.callbacks.get(event, []):
            trainer.add_callback(event, fn)
    _set_all_cores()
    return True

"""The ultralytics behaviours yolo_attn changes outside the model builder (the builder's hook is ``hook.py``).

Each patch is idempotent and marked (``_yolo_attn``), and changes one lookup or one setting:

* ``use_local_fonts``: offline, plot labels use matplotlib's bundled DejaVuSans instead of downloading Arial;
* ``use_attn_trainers``: ``Model._smart_load("trainer")`` returns yolo_attn's importable trainers (DDP workers);
* ``honour_cpu_workers``: an explicit ``workers`` wins over ``BaseTrainer``'s ``workers=0`` on the CPU.

With ``hook.UltralyticsAdapter`` and ``safe_load.py``, this is all of yolo_attn that reads or changes ultralytics
internals.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ("use_local_fonts", "use_attn_trainers", "honour_cpu_workers", "in_tune_trial", "drop_raytune_outside_trials")


def use_local_fonts() -> None:
    """Offline, give ultralytics' plot labels matplotlib's bundled DejaVuSans instead of trying to fetch Arial.

    ``ultralytics.utils.checks.check_font`` downloads ``Arial.ttf`` when it is not in the config dir; with
    ``YOLO_OFFLINE=1`` that attempt fails and PIL's bitmap default font is used. This skips the network attempt and
    keeps readable, scalable labels. Online, nothing changes.
    """
    import matplotlib
    import ultralytics.utils.plotting as plotting
    from ultralytics.utils import ONLINE, USER_CONFIG_DIR

    if ONLINE or getattr(plotting.check_font, "_yolo_attn", False):
        return
    fallback = Path(matplotlib.get_data_path()) / "fonts" / "ttf" / "DejaVuSans.ttf"
    original = plotting.check_font

    def check_font(font="Arial.ttf"):
        local = USER_CONFIG_DIR / Path(font).name
        return local if local.exists() else (fallback if fallback.exists() else original(font))

    check_font._yolo_attn = True
    plotting.check_font = check_font


def use_attn_trainers(trainers: dict) -> None:
    """Make ``YOLO(...).train()`` without a ``trainer=`` pick ``trainers[task]`` for the tasks in ``trainers``.

    ultralytics picks the trainer class in ``Model._smart_load("trainer")`` from the model's task map; this wraps that
    one lookup (idempotent). Other tasks and every other lookup (validator, predictor, model) are unchanged.
    """
    from ultralytics.engine.model import Model

    original = Model._smart_load
    if getattr(original, "_yolo_attn", False):
        return

    def _smart_load(self, key: str):
        if key == "trainer" and self.task in trainers:
            return trainers[self.task]
        return original(self, key)

    _smart_load._yolo_attn = True
    Model._smart_load = _smart_load


def honour_cpu_workers(trainer, workers) -> None:
    """Set ``trainer.args.workers`` to an explicit ``workers`` on a CPU run.

    ultralytics' ``BaseTrainer`` sets ``workers=0`` for every CPU run, so ``--workers 2`` on a CPU would be ignored
    silently; an explicit ``workers`` override wins here (the demo's measured default is 0, docs/MEASUREMENTS.md).
    """
    if workers is not None and trainer.device.type == "cpu":
        trainer.args.workers = int(workers)


def in_tune_trial() -> bool:
    """True inside a Ray Tune trial; asked without Ray's warning about asking outside one (False without Ray)."""
    import sys
    import warnings

    if "ray" not in sys.modules:  # nothing imported Ray: no trial in this process
        return False
    try:
        from ray import tune

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return bool(tune.get_context().get_trial_id())
    except Exception:
        return False


def drop_raytune_outside_trials(callbacks: dict) -> None:
    """Remove ultralytics' Ray Tune reporting callback unless this process runs a Tune trial.

    ultralytics adds it to every trainer whenever Ray is installed; outside a trial its check calls
    ``tune.get_context().get_trial_id()``, which makes Ray print "UserWarning: get_trial_id is meant to only be called
    inside a function that is executed by a Tuner" once per run. A grid's trials keep it (their progress lines).
    """
    if in_tune_trial():
        return
    for key, fns in callbacks.items():
        callbacks[key] = [f for f in fns if getattr(f, "__module__", "") != "ultralytics.utils.callbacks.raytune"]

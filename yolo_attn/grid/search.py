"""The search stage of ``ablate_attn.py --search``: one Ray Tune trial per point of the space (seed 0, full length),
early-stopped by Ray's own ``ASHAScheduler`` on the mAP50-95 that ultralytics' Ray Tune callback reports each epoch.

A trial is an ordinary run folder ``GRID/search/<config>-seed0`` trained by ``yolo_attn.grid.run.cell_trial`` (the
grid's trainable: resumes from ``last.pt``). The experiment lives in ``GRID/_ray/search``; an interrupted search
(Ctrl-C, a kill) is restored from there with Tune's own ``Tuner.restore`` (ASHA's rungs included). A finished search
is recorded in ``GRID/search.json`` and a rerun reads it without starting Ray.
"""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path

from yolo_attn.grid.cells import Cell
from yolo_attn.grid.run import _DRIVER_PROGRESS, _callback, _Progress, cell_trial, init_ray, require_ray

__all__ = ("METRIC", "metric_mode", "search_trial", "EpochBudget", "run_search", "trial_records")

METRIC = "metrics/mAP50-95(B)"  # what ultralytics' raytune callback reports (with "epoch") after every validation


def _last_epoch(run_dir, metric: str = METRIC) -> tuple[int, float | None]:
    """Epochs in ``results.csv`` and the last one's ``metric``."""
    f = Path(run_dir) / "results.csv"
    if not f.is_file():
        return 0, None
    rows = [{k.strip(): v for k, v in r.items()} for r in csv.DictReader(f.open())]
    return (len(rows), float(rows[-1][metric])) if rows and metric in rows[-1] else (len(rows), None)


def metric_mode(metric: str) -> str:
    """``min`` for a loss (``val/cls_loss``), else ``max``."""
    return "min" if "loss" in metric else "max"


def search_trial(config: dict, train_argv=None) -> dict:
    """The grid's trainable (``train_argv`` as for ``run_grid``), whose final result also carries the scheduler's
    metric and epoch."""
    out = cell_trial(config, train_argv)
    metric = config.get("metric", METRIC)
    epochs, last = _last_epoch(config["cell"]["run_dir"], metric)
    _, last_map = _last_epoch(config["cell"]["run_dir"])
    return {**out, METRIC: last_map if last_map is not None else 0.0, metric: last if last is not None else 0.0,
            "epoch": epochs}


class EpochBudget:
    """A Tune stopper: ends the whole search once its trials have trained ``budget`` epochs in all (``--budget``)."""

    def __init__(self, budget: int):
        self.budget, self.epochs = int(budget), {}

    def __call__(self, trial_id, result) -> bool:
        if "epoch" in result:
            self.epochs[trial_id] = max(self.epochs.get(trial_id, 0), int(result["epoch"]))
        return False

    def stop_all(self) -> bool:
        return sum(self.epochs.values()) >= self.budget


def _scheduler(epochs: int, grace: int, reduction: float, metric: str = METRIC):
    from ray.tune.schedulers import ASHAScheduler

    # ultralytics' final validation reports once more, as epoch epochs + 1: max_t two past the last epoch, so the
    # scheduler never stops a trial at that report (trainers.py also writes per_class.json before it)
    return ASHAScheduler(time_attr="epoch", metric=metric, mode=metric_mode(metric), max_t=epochs + 2,
                         grace_period=grace, reduction_factor=reduction)


def _tuner(tune, cells: list[Cell], path: Path, progress, train_argv, *, epochs, grace, reduction, budget, time_budget,
           cpus, gpus, max_concurrent, metric):
    trainable = tune.with_resources(tune.with_parameters(search_trial, train_argv=train_argv), {"cpu": cpus, "gpu": gpus})
    space = {"cell": tune.grid_search([c.as_dict() for c in cells]), "metric": metric}
    if tune.Tuner.can_restore(str(path)):  # an interrupted search: Tune's own restore (its scheduler state too)
        progress.echo(f"search: resuming the interrupted search in {path}", flush=True)
        return tune.Tuner.restore(str(path), trainable, resume_unfinished=True, resume_errored=True,
                                  param_space=space)
    return tune.Tuner(
        trainable, param_space=space,
        tune_config=tune.TuneConfig(scheduler=_scheduler(epochs, grace, reduction, metric),
                                    max_concurrent_trials=max_concurrent or None, time_budget_s=time_budget,
                                    trial_name_creator=lambda t: t.config["cell"]["name"],
                                    trial_dirname_creator=lambda t: t.config["cell"]["name"]),
        run_config=tune.RunConfig(name=path.name, storage_path=str(path.parent), verbose=0,
                                  stop=EpochBudget(budget) if budget else None, callbacks=[_callback(progress)]),
    )


def trial_records(cells: list[Cell], epochs: int, errors: dict | None = None) -> list[dict]:
    """One record per trial from its folder: epochs trained, last mAP50-95, and whether the scheduler stopped it."""
    out = []
    for c in cells:
        n, last = _last_epoch(c.run_dir)
        err = (errors or {}).get(c.name, "")
        status = "failed" if err else "completed" if n >= epochs else "stopped early" if n else "not started"
        out.append({"trial": c.name, "module": c.module, "at": c.at, "cfg": c.base, "epochs": n,
                    "last_mAP50-95": last, "status": status, "error": err})
    return out


def run_search(cells: list[Cell], grid_dir, *, train_argv, epochs: int, grace: int = 1, reduction: float = 2, budget=None,
               time_budget=None, cpus: float = 1, gpus: float = 0, max_concurrent=None, address=None,
               metric: str = METRIC, echo=print) -> list[dict]:
    """Run (or resume, or read back) the search stage; return ``trial_records``.

    ``metric``: what ASHA ranks trials by at each rung (default mAP50-95; a ``*loss`` column of ultralytics'
    ``results.csv`` such as ``val/cls_loss`` ranks by the lowest, useful where every mAP is still 0)."""
    grid_dir = Path(grid_dir)
    record = grid_dir / "search.json"
    names = [c.name for c in cells]
    if record.is_file():
        done = json.loads(record.read_text())
        if done.get("trials") == names and done.get("complete"):
            echo(f"search: {len(cells)} trials finished earlier ({record.name}); nothing to train", flush=True)
            return trial_records(cells, epochs, done.get("errors"))
    tune = require_ray()
    if metric != METRIC:  # ultralytics' last report (after the final validation) carries mAP but no losses:
        os.environ.setdefault("TUNE_DISABLE_STRICT_METRIC_CHECKING", "1")  # ASHA then skips it (Ray's own rule)
    started = init_ray(address)
    errors = {}
    progress = _Progress(len(cells), 0, echo)
    try:
        tuner = _tuner(tune, cells, grid_dir / "_ray" / "search", progress, train_argv, epochs=epochs, grace=grace,
                       reduction=reduction, budget=budget, time_budget=time_budget, cpus=cpus, gpus=gpus,
                       max_concurrent=max_concurrent, metric=metric)
        results = tuner.fit()
        complete = len(results) == len(cells) and results.num_terminated + results.num_errors == len(cells)
        for r in results:
            cell = (r.config or {}).get("cell")
            if cell is not None and r.error is not None:
                errors[cell["name"]] = str(r.error).strip().splitlines()[-1][:400] if str(r.error).strip() else "error"
    finally:
        _DRIVER_PROGRESS.pop(id(progress), None)
        if started:
            import ray

            ray.shutdown()
    if not complete:  # Ctrl-C: Tune saved its state; the same command resumes it
        raise KeyboardInterrupt
    record.write_text(json.dumps({"trials": names, "complete": True, "errors": errors}, indent=2) + "\n")
    return trial_records(cells, epochs, errors)

"""Ablation grids on Ray Tune: one trial per cell (modules x placements x seeds, plus the plain base per seed).

``run_grid(cells, ...)`` skips finished cells, resumes interrupted ones from their ``last.pt``, runs the rest as Ray
Tune trials (FIFO, no early stopping, ``cpus``/``gpus`` per trial, ``max_concurrent``, ``retries``) on a local Ray
cluster or the one at ``address``, prints progress lines while they run, and ends with the comparison and the
module x placement heatmap (``yolo_attn.grid.report``). A trial runs ``train_argv(cell argv)``, which
``ablate_attn.py`` gives as ``yolo_attn.cli.train.run``: the same code path as ``python train_attn.py``.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from yolo_attn.errors import UsageError
from yolo_attn.engine.finalise import finalise
from yolo_attn.grid.cells import DONE, PARTIAL, UNFINALISED, Cell, best_metrics, cell_argv, cell_state
from yolo_attn.grid.ray_connect import init_ray

__all__ = ("RAY_INSTALL", "require_ray", "run_grid", "cell_trial", "init_ray")

RAY_INSTALL = 'pip install -e ".[ray]"'


def require_ray():
    """``ray.tune``, or a ``UsageError`` with the install line."""
    try:
        import ray  # noqa: F401
        from ray import tune
    except ImportError as e:
        raise UsageError(f"ablation grids run on Ray Tune, which is not installed ({e}); install it with: {RAY_INSTALL}")
    return tune


def cell_trial(config: dict, train_argv=None) -> dict:
    """Ray Tune trainable for one cell: train (or resume) it with ``train_argv`` (``run_grid``); return its best
    metrics."""
    for k in ("RANK", "LOCAL_RANK", "WORLD_SIZE"):  # a preset RANK would push ultralytics into DDP code paths
        os.environ.pop(k, None)
    import ray

    import yolo_attn  # noqa: F401  (registers the modules before any yaml is built on this node)

    cell = config["cell"]
    t0 = time.time()
    state = cell_state(cell["run_dir"])
    if state == UNFINALISED:
        finalise(cell["run_dir"])
    elif state != DONE:
        train_argv(cell_argv(cell))
    import torch

    out = {"cell": cell["name"], "state_before": state, "node_id": ray.get_runtime_context().get_node_id(),
           "torch_threads": torch.get_num_threads(),
           "seconds": round(time.time() - t0, 1), **{f"best/{k}": v for k, v in best_metrics(cell["run_dir"]).items()}}
    return out


class _Progress:
    """Tune callback printing one line per change: cells done/running/failed, the best so far."""

    def __init__(self, total: int, done_before: int, echo=print):
        self.total, self.done_before, self.echo = total, done_before, echo
        self.running, self.done, self.failed, self.epoch = set(), set(), set(), {}
        self.best = None

    def _line(self, what: str):
        best = f"; best so far {self.best[1]} mAP50-95 {self.best[0]:.4f}" if self.best else ""
        running = ", ".join(f"{n} ep {self.epoch.get(n, 0)}" for n in sorted(self.running))
        self.echo(f"grid: {what} | done {len(self.done) + self.done_before}/{self.total}, running {len(self.running)}"
                  f"{' (' + running + ')' if running else ''}, failed {len(self.failed)}{best}", flush=True)

    def start(self, name):
        self.running.add(name)
        self._line(f"started {name}")

    def result(self, name, metrics, epochs=None):
        if epochs and metrics.get("epoch", 0) > epochs:  # ultralytics' callback reports once more after the final val
            return
        if "epoch" in metrics and self.epoch.get(name) != metrics["epoch"]:
            self.epoch[name] = metrics["epoch"]
            self._line(f"{name} epoch {metrics['epoch']} mAP50-95 {metrics.get('metrics/mAP50-95(B)', float('nan')):.4f}")

    def complete(self, name, metrics):
        self.running.discard(name)
        self.done.add(name)
        m = metrics.get("best/mAP50-95")
        if m is not None and (self.best is None or m > self.best[0]):
            self.best = (m, name)
        self._line(f"finished {name}" + (f" (mAP50-95 {m:.4f})" if m is not None else ""))

    def error(self, name):
        self.running.discard(name)
        self.failed.add(name)
        self._line(f"FAILED {name}")


# Tune pickles its callbacks with the experiment state. A callback holding the user's ``echo`` (``builtins.print``)
# fails to pickle once Ray's log thread has replaced ``builtins.print`` (ray.experimental.tqdm_ray), so the callback
# holds only a key into this driver-side table; the progress (and its echo) never leaves the driver process.
_DRIVER_PROGRESS: dict[int, _Progress] = {}


def _progress_of(key: int) -> _Progress | None:
    return _DRIVER_PROGRESS.get(key)


def _callback(progress: _Progress):
    from ray import tune

    key = id(progress)
    _DRIVER_PROGRESS[key] = progress

    class ProgressCallback(tune.Callback):
        def on_trial_start(self, iteration, trials, trial, **info):
            p = _progress_of(key)
            if p:
                p.start(trial.config["cell"]["name"])

        def on_trial_result(self, iteration, trials, trial, result, **info):
            argv = list(trial.config["cell"]["argv"])
            epochs = int(argv[argv.index("--epochs") + 1]) if "--epochs" in argv else None
            p = _progress_of(key)
            if p:
                p.result(trial.config["cell"]["name"], result, epochs)

        def on_trial_complete(self, iteration, trials, trial, **info):
            p = _progress_of(key)
            if p:
                p.complete(trial.config["cell"]["name"], trial.last_result or {})

        def on_trial_error(self, iteration, trials, trial, **info):
            p = _progress_of(key)
            if p:
                p.error(trial.config["cell"]["name"])

        def on_trial_recover(self, iteration, trials, trial, **info):
            p = _progress_of(key)
            if p:
                p.echo(f"grid: {trial.config['cell']['name']} failed, retrying (resumes from its last.pt if any)",
                       flush=True)

    return ProgressCallback()


def run_grid(cells: list[Cell], grid_dir, *, train_argv, cpus_per_trial: float = 1, gpus_per_trial: float = 0,
             max_concurrent: int | None = None, retries: int = 1, address: str | None = None,
             echo=print, prepare=None) -> dict[str, dict]:
    """Train every unfinished cell as a Ray Tune trial; return ``{cell name: status}``.

    ``train_argv(argv)`` trains one cell's command line: ``yolo_attn.cli.train.run``, so a cell trains exactly what
    ``python train_attn.py ARGV`` trains. The caller (``ablate_attn.py``) hands it in, so the grid does not import the
    command lines (docs/ARCHITECTURE.md); a module-level function, Ray ships it to the trials by reference.

    status: ``{"status": "finished"|"failed"|"interrupted"|"not started", "this_run": "trained"|"skipped"|
    "finalised"|"", "error": str, "node_id", "seconds", "torch_threads", **best metrics}``. "skipped": finished by an
    earlier run of the grid, nothing trained; "finalised": stopped after its final save, its optimizer stripped now.
    Ray is joined (or started) before anything is written; ``prepare()`` then runs (the grid writes its model yamls).
    A Ctrl-C stops the trials; the cells' states are then read from their folders, and ``status["_interrupted"]``
    is True.
    """
    grid_dir = Path(grid_dir).resolve()
    states = {c.name: cell_state(c.run_dir) for c in cells}
    todo = [c for c in cells if states[c.name] not in (DONE, UNFINALISED)]
    status = {}
    for c in cells:
        if states[c.name] == DONE:
            status[c.name] = {"status": "finished", "this_run": "skipped", "error": "", **best_metrics(c.run_dir)}
    tune = require_ray() if todo else None
    started = init_ray(address) if todo else False  # a UsageError here: nothing written yet
    try:
        for c in cells:
            if states[c.name] == UNFINALISED:
                finalise(c.run_dir)
                echo(f"grid: {c.name} had saved all its epochs but was stopped before ultralytics finalised it: "
                     f"finalised now (optimizer stripped, best.pt kept as is)", flush=True)
                status[c.name] = {"status": "finished", "this_run": "finalised", "error": "", **best_metrics(c.run_dir)}
        echo(f"grid: {len(cells)} cells in {grid_dir}: {len(cells) - len(todo)} finished earlier (skipped), "
             f"{len(todo)} to train", flush=True)
        if not todo:
            return status
        if prepare is not None:
            prepare()
        try:
            _fit(tune, todo, len(cells), grid_dir, status, echo, train_argv, cpus_per_trial=cpus_per_trial,
                 gpus_per_trial=gpus_per_trial, max_concurrent=max_concurrent, retries=retries)
        except KeyboardInterrupt:  # a second Ctrl-C, or one outside Tune's own handler
            status["_interrupted"] = True
        for c in todo:  # trials stopped by Ctrl-C (or never started) have no result: their folders tell
            if c.name not in status:
                state = cell_state(c.run_dir)
                status[c.name] = {"status": "finished" if state in (DONE, UNFINALISED) else
                                  "interrupted" if state == PARTIAL else "not started",
                                  "this_run": "", "error": "", **best_metrics(c.run_dir)}
                status["_interrupted"] = True
    finally:
        if started:
            import ray

            ray.shutdown()
    return status


def _fit(tune, todo: list[Cell], total: int, grid_dir: Path, status: dict, echo, train_argv, *, cpus_per_trial,
         gpus_per_trial, max_concurrent, retries) -> None:
    """Run ``todo`` as Tune trials; fill ``status`` for every trial that finished or failed."""
    import ray

    res = ray.cluster_resources()
    echo(f"grid: Ray cluster {res.get('CPU', 0):g} CPUs, {res.get('GPU', 0):g} GPUs; per trial {cpus_per_trial:g} "
         f"CPU, {gpus_per_trial:g} GPU", flush=True)
    if gpus_per_trial > res.get("GPU", 0) or cpus_per_trial > res.get("CPU", 0):
        raise UsageError(f"--gpus-per-trial {gpus_per_trial:g} / --cpus-per-trial {cpus_per_trial:g}: the Ray "
                         f"cluster has {res.get('GPU', 0):g} GPUs and {res.get('CPU', 0):g} CPUs; no trial could start")
    progress = _Progress(total, total - len(todo), echo)
    try:
        _tune(tune, todo, grid_dir, status, progress, train_argv, cpus_per_trial=cpus_per_trial, gpus_per_trial=gpus_per_trial,
              max_concurrent=max_concurrent, retries=retries)
    finally:
        _DRIVER_PROGRESS.pop(id(progress), None)


def _tune(tune, todo, grid_dir, status, progress, train_argv, *, cpus_per_trial, gpus_per_trial, max_concurrent, retries):
    """Build the Tuner (its callback holds no user callable: ``_callback``) and collect the trials' results."""
    tuner = tune.Tuner(
        tune.with_resources(tune.with_parameters(cell_trial, train_argv=train_argv),
                            {"cpu": cpus_per_trial, "gpu": gpus_per_trial}),
        param_space={"cell": tune.grid_search([c.as_dict() for c in todo])},
        tune_config=tune.TuneConfig(max_concurrent_trials=max_concurrent or None,
                                    trial_name_creator=lambda t: t.config["cell"]["name"],
                                    trial_dirname_creator=lambda t: t.config["cell"]["name"]),
        run_config=tune.RunConfig(
            name=time.strftime("tune-%Y%m%d-%H%M%S"), storage_path=str(grid_dir / "_ray"), verbose=0,
            failure_config=tune.FailureConfig(max_failures=retries), callbacks=[_callback(progress)],
        ),
    )
    results = tuner.fit()
    for r in results:
        cell = (r.config or {}).get("cell")
        if cell is None:  # a trial that never started (Ctrl-C): no config, no result
            continue
        name, run_dir = cell["name"], cell["run_dir"]
        m = r.metrics or {}
        if r.error is not None:
            status[name] = {"status": "failed", "this_run": "trained", "error": _one_line(r.error),
                            **best_metrics(run_dir)}
        elif m.get("cell") == name:  # the trial returned: the cell is done
            status[name] = {"status": "finished", "this_run": "finalised" if m.get("state_before") == UNFINALISED
                            else "trained", "error": "", "node_id": m.get("node_id", ""),
                            "seconds": m.get("seconds", ""), "torch_threads": m.get("torch_threads", ""),
                            **best_metrics(run_dir)}
        # else: stopped by Ctrl-C mid-training; run_grid reads its state from its folder


def _one_line(err) -> str:
    """The last line of a trial's error (the exception raised in the cell), without the traceback."""
    text = str(err).strip().splitlines()
    lines = [ln.strip() for ln in text if ln.strip()]
    return lines[-1][:400] if lines else type(err).__name__

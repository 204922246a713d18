"""Ablation grids on Ray Tune: one trial per cell (modules x placements x seeds, plus the plain base per seed).

``run_grid(cells, ...)`` skips finished cells, resumes interrupted ones from their ``last.pt``, runs the rest as Ray
Tune trials (FIFO, no early stopping, ``cpus``/``gpus`` per trial, ``max_concurrent``, ``retries``) on a local Ray
cluster or the one at ``address``, prints progress lines while they run, and ends with the comparison and the
module x placement heatmap (``yolo_attn.grid.report``). A trial runs ``yolo_attn.cli.train.run(cell argv)``: the same
code path as ``python train_attn.py``.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from yolo_attn.errors import UsageError
from yolo_attn.grid.cells import DONE, Cell, best_metrics, cell_argv, cell_state

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


def cell_trial(config: dict) -> dict:
    """Ray Tune trainable for one cell: train (or resume) it with ``train_cli.run``; return its best metrics."""
    for k in ("RANK", "LOCAL_RANK", "WORLD_SIZE"):  # a preset RANK would push ultralytics into DDP code paths
        os.environ.pop(k, None)
    import ray

    import yolo_attn  # noqa: F401  (registers the modules before any yaml is built on this node)
    from yolo_attn.cli.train import run

    cell = config["cell"]
    t0 = time.time()
    state = cell_state(cell["run_dir"])
    if state != DONE:
        run(cell_argv(cell))
    import torch

    out = {"cell": cell["name"], "state_before": state, "node_id": ray.get_runtime_context().get_node_id(),
           "torch_threads": torch.get_num_threads(),
           "seconds": round(time.time() - t0, 1), **{f"best/{k}": v for k, v in best_metrics(cell["run_dir"]).items()}}
    return out


def init_ray(address: str | None, num_cpus: int | None = None):
    """Join ``address`` (or ``RAY_ADDRESS``), or start a fresh local cluster; keep an already initialised Ray."""
    import ray

    if ray.is_initialized():
        return False
    address = address or os.getenv("RAY_ADDRESS")
    env = {"RAY_CHDIR_TO_TRIAL_DIR": "0"}  # trials keep the driver's working directory (relative --data paths)
    env.update({k: os.environ[k] for k in ("YOLO_OFFLINE", "YOLO_CONFIG_DIR", "YOLO_ATTN_DATASETS", "PYTHONPATH") if k in os.environ})
    if address:
        ray.init(address=address, runtime_env={"env_vars": env}, log_to_driver=True)
    else:
        os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")  # a local cluster stays on 127.0.0.1
        ray.init(address="local", num_cpus=num_cpus, runtime_env={"env_vars": env}, include_dashboard=False)
    return True


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


def _callback(progress: _Progress):
    from ray import tune

    class ProgressCallback(tune.Callback):
        def on_trial_start(self, iteration, trials, trial, **info):
            progress.start(trial.config["cell"]["name"])

        def on_trial_result(self, iteration, trials, trial, result, **info):
            argv = list(trial.config["cell"]["argv"])
            epochs = int(argv[argv.index("--epochs") + 1]) if "--epochs" in argv else None
            progress.result(trial.config["cell"]["name"], result, epochs)

        def on_trial_complete(self, iteration, trials, trial, **info):
            progress.complete(trial.config["cell"]["name"], trial.last_result or {})

        def on_trial_error(self, iteration, trials, trial, **info):
            progress.error(trial.config["cell"]["name"])

        def on_trial_recover(self, iteration, trials, trial, **info):
            progress.echo(f"grid: {trial.config['cell']['name']} failed, retrying (resumes from its last.pt if any)",
                          flush=True)

    return ProgressCallback()


def run_grid(cells: list[Cell], grid_dir, *, cpus_per_trial: float = 1, gpus_per_trial: float = 0,
             max_concurrent: int | None = None, retries: int = 1, address: str | None = None,
             echo=print) -> dict[str, dict]:
    """Train every unfinished cell as a Ray Tune trial; return ``{cell name: status}``.

    status: ``{"status": "finished"|"skipped"|"failed", "error": str, "node_id", "seconds", **best metrics}``
    ("skipped": finished by an earlier run of the grid, nothing trained).
    """
    tune = require_ray()
    grid_dir = Path(grid_dir).resolve()
    grid_dir.mkdir(parents=True, exist_ok=True)
    status = {}
    todo = []
    for c in cells:
        if cell_state(c.run_dir) == DONE:
            status[c.name] = {"status": "skipped", "error": "", **best_metrics(c.run_dir)}
        else:
            todo.append(c)
    echo(f"grid: {len(cells)} cells in {grid_dir}: {len(cells) - len(todo)} finished earlier (skipped), "
         f"{len(todo)} to train", flush=True)
    if not todo:
        return status
    started = init_ray(address)
    try:
        import ray

        res = ray.cluster_resources()
        echo(f"grid: Ray cluster {res.get('CPU', 0):g} CPUs, {res.get('GPU', 0):g} GPUs; per trial {cpus_per_trial:g} "
             f"CPU, {gpus_per_trial:g} GPU", flush=True)
        if gpus_per_trial > res.get("GPU", 0) or cpus_per_trial > res.get("CPU", 0):
            raise UsageError(f"--gpus-per-trial {gpus_per_trial:g} / --cpus-per-trial {cpus_per_trial:g}: the Ray "
                             f"cluster has {res.get('GPU', 0):g} GPUs and {res.get('CPU', 0):g} CPUs; no trial could start")
        progress = _Progress(len(cells), len(cells) - len(todo), echo)
        tuner = tune.Tuner(
            tune.with_resources(cell_trial, {"cpu": cpus_per_trial, "gpu": gpus_per_trial}),
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
            name = r.config["cell"]["name"]
            if r.error is not None:
                status[name] = {"status": "failed", "error": _one_line(r.error), **best_metrics(r.config["cell"]["run_dir"])}
            else:
                m = r.metrics or {}
                status[name] = {"status": "finished", "error": "", "node_id": m.get("node_id", ""),
                                "seconds": m.get("seconds", ""),
                                "torch_threads": m.get("torch_threads", ""), **best_metrics(r.config["cell"]["run_dir"])}
    finally:
        if started:
            import ray

            ray.shutdown()
    return status


def _one_line(err) -> str:
    """The last line of a trial's error (the exception raised in the cell), without the traceback."""
    text = str(err).strip().splitlines()
    lines = [ln.strip() for ln in text if ln.strip()]
    return lines[-1][:400] if lines else type(err).__name__

"""``yolo-attn``: ultralytics' ``yolo`` command line with the yolo_attn plugin loaded.

Every mode and argument of ``yolo`` works the same (``yolo-attn train|val|predict|export|track|benchmark ...``,
``yolo-attn segment train ...``, ``yolo-attn help|settings|cfg``); in addition

* the attention modules are registered and the shipped configs are found by name, with the scale letter:
  ``yolo-attn train model=yolov5n-se.yaml data=coco8.yaml epochs=3``;
* detection and segmentation training uses yolo_attn's importable trainers (``yolo_attn.engine.trainers``), so multi-GPU
  (DDP) worker processes, which unpickle the trainer class, import yolo_attn and know the modules too;
* offline (``YOLO_OFFLINE=1``) plots use a local font instead of trying to download Arial;
* ultralytics sees its own CLI (``yolo_attn.plugin.cli.as_yolo_cli``): ``predict``/``track`` save as under ``yolo``;
* as ``train_attn.py``: ``--import MODULE``, ``data=shapes|shapes-hard|shapes-seg`` (and the demo set when ``train``
  names no data), no half-made run folder after a refused dataset, and one ``error:`` line (exit 2) for an unknown
  setting such as ``lr=0.001`` instead of ultralytics' whole help (``yolo_attn.cli.yolo_args``).

Run as ``yolo-attn ...`` (installed console script) or ``python -m yolo_attn.cli.yolo ...``.
"""

from __future__ import annotations

import sys
from contextlib import contextmanager
from pathlib import Path

__all__ = ("main", "guarded_train")


def _project_dir(task: str, kwargs: dict) -> Path:
    """The folder ultralytics' trainer makes its run folder in (``get_save_dir``: an absolute ``project`` as is, else
    under ``runs_dir/<task>``), without making or incrementing anything."""
    from types import SimpleNamespace

    from ultralytics.cfg import get_save_dir

    args = SimpleNamespace(project=kwargs.get("project"), name=kwargs.get("name") or "train", task=task, mode="train",
                           exist_ok=True)
    return Path(get_save_dir(args)).parent


@contextmanager
def guarded_train():
    """Every ``Model.train`` in the body runs under ``yolo_attn.engine.runguard.guard_run``: a run refused or failed
    before its first epoch (a bad dataset) leaves no half-made run folder, as with ``train_attn.py``."""
    from ultralytics.engine.model import Model

    from yolo_attn.engine.runguard import guard_run

    original = Model.train

    def train(self, trainer=None, **kwargs):
        with guard_run(self, _project_dir(self.task, kwargs)):
            return original(self, trainer=trainer, **kwargs)

    Model.train = train
    try:
        yield
    finally:
        Model.train = original


def _trust_weights(words: list[str]) -> list[str]:
    """``trust_weights=True`` (yolo_attn's, not an ultralytics setting): load ``model=`` with the full pickle, which
    runs the file's code (``YOLO_ATTN_TRUST_WEIGHTS=1``); the other words."""
    from yolo_attn.checkpoint import use_trust

    given = [w for w in words if w.split("=", 1)[0] == "trust_weights"]
    use_trust(any(w.split("=", 1)[-1].lower() in ("true", "1", "yes") for w in given))
    return [w for w in words if w not in given]


def _run(words: list[str]) -> None:
    from ultralytics.cfg import entrypoint

    from yolo_attn.cli.passthrough import settings_error
    from yolo_attn.cli.yolo_args import split_imports, with_data
    from yolo_attn.engine.trainers import TRAINERS
    from yolo_attn.errors import UsageError
    from yolo_attn.plugin.cli import as_yolo_cli, without_cli_help
    from yolo_attn.plugin.patches import use_attn_trainers, use_local_fonts
    from yolo_attn.user_imports import use_imports

    words, modules = split_imports(words)
    words = _trust_weights(words)
    use_imports(modules)
    words = with_data(words)
    use_attn_trainers(TRAINERS)
    use_local_fonts()
    sys.argv[1:] = words  # in place: ultralytics.cfg.ARGV is this same list, read by entrypoint
    try:
        with as_yolo_cli(), without_cli_help(), guarded_train():
            entrypoint()
    except SyntaxError as e:  # ultralytics' check of the key=value settings (an unknown key, a missing '=')
        if not getattr(e, "filename", None):  # a Python syntax error in user code has a file: not ours to reword
            raise UsageError(settings_error(e)) from e
        raise


def main(argv: list[str] | None = None) -> int:
    """Run ultralytics' ``entrypoint`` on ``argv`` (default ``sys.argv[1:]``) with the plugin loaded; exit status 2
    with one ``error:`` line for bad input (an unknown setting, a missing --import module, a refused dataset)."""
    import yolo_attn  # noqa: F401  (registers the modules and the config lookup)
    from yolo_attn.cli.guard import main_guard

    words = list(sys.argv[1:] if argv is None else argv)
    return main_guard(lambda _: _run(words), words)


if __name__ == "__main__":
    sys.exit(main())

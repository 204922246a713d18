"""No half-made runs: remove the run folder of a run that fails before its first epoch completes.

``guard_run(model, project)`` wraps one ``model.train(...)``/``validator(...)`` call. It learns the run folder from the
trainer itself (callback ``on_pretrain_routine_start``, which ultralytics runs right after it made the folder) and
counts finished epochs (``on_fit_epoch_end``). When the call raises before an epoch finished, that folder is deleted
if it did not exist before the call, and so is the project folder if the call created it and left it empty. An existing
run folder the call writes into (``keep``: the folder of a ``--resume``, or an ``exist_ok`` target) is restored byte for
byte (``yolo_attn.engine.snapshot``): ultralytics rewrites its ``args.yaml`` and ``labels.jpg`` before the first
batch, and a failure there must not change the run it targeted. Progress is an epoch's validation logged or a
checkpoint saved; after that nothing is undone (an interruption costs at most the unfinished epoch). Known ultralytics exceptions about the data or the arguments become
``UsageError`` messages that say the cause and the fix (``explain``); the original stays chained for ``--verbose``.
"""

from __future__ import annotations

import re
import shutil
from contextlib import contextmanager
from pathlib import Path

from yolo_attn.errors import UsageError
from yolo_attn.engine.snapshot import Snapshot

__all__ = ("guard_run", "explain")

# (pattern in the ultralytics message, what to say). Each message is completed with the original text.
_KNOWN = (
    (r"exceeds dataset class count|Label class \d+ exceeds",
     "a label file has a class id >= nc (the number of 'names' in the dataset yaml). Class ids count from 0; add the "
     "missing names to the dataset yaml or fix the label files"),
    (r"No valid images found|No labels found|no labels found",
     "ultralytics found no usable labels. Images must sit in a folder named 'images' with a sibling 'labels' folder "
     "holding one .txt per image (same stem; lines 'class cx cy w h' normalised 0-1; segmentation: 'class x1 y1 x2 y2 "
     "...'); or a label cache is stale: delete the *.cache files next to the labels folder"),
    (r"images not found|no training images found",
     "the dataset yaml's train/val image paths do not exist; fix 'path', 'train' and 'val' in it"),
    (r"'names' or 'nc' are required|must match|must be an integer",
     "the dataset yaml is malformed: it needs 'names' (a list or {id: name}) and optionally a matching 'nc'"),
)


def explain(e: BaseException) -> UsageError | None:
    """A ``UsageError`` for a known ultralytics failure ``e`` (bad data/arguments), or None for anything else."""
    from ultralytics.utils import remove_colorstr

    if isinstance(e, UsageError):
        return e
    text = remove_colorstr(str(e))
    for pattern, advice in _KNOWN:
        if re.search(pattern, text):
            first = next((ln.strip() for ln in text.splitlines() if re.search(pattern, ln)), text.splitlines()[0])
            return UsageError(f"{advice}. (ultralytics: {first.strip()})")
    return None


@contextmanager
def guard_run(model, project: str | Path, keep=()):
    """Context for one training call of ultralytics ``model`` saving under ``project`` (see the module docstring).

    ``keep``: existing run folders the call may write into; restored exactly when it fails before any progress.
    Yields a dict that ends up with ``save_dir`` (Path, once the trainer made it) and ``epochs`` (finished epochs).
    """
    project = Path(project).resolve()
    project_existed = project.exists()
    before = {p.resolve() for p in project.iterdir()} if project_existed else set()
    state = {"save_dir": None, "epochs": 0, "saved": False}

    def on_start(trainer):
        state["save_dir"] = Path(trainer.save_dir).resolve()

    def on_epoch(trainer):
        state["epochs"] += 1

    def on_save(trainer):
        state["saved"] = True

    if model is not None:
        model.add_callback("on_pretrain_routine_start", on_start)
        model.add_callback("on_fit_epoch_end", on_epoch)
        model.add_callback("on_model_save", on_save)
    snaps = [Snapshot(d) for d in keep if Path(d).is_dir()]
    try:
        yield state
    except BaseException as e:
        if state["epochs"] == 0 and not state["saved"]:
            for snap in snaps:
                snap.restore()
            _remove_new(state["save_dir"], project, before, project_existed)
        err = explain(e)
        if err is None or err is e:
            raise
        raise err from e
    finally:
        for snap in snaps:
            snap.discard()


def _remove_new(save_dir: Path | None, project: Path, before: set, project_existed: bool) -> None:
    """Delete ``save_dir`` if it is new under ``project``; then ``project`` itself if it is new and empty."""
    candidates = [save_dir] if save_dir is not None else []
    if save_dir is None and project.exists():  # failed before the callback: folders this call added to the project
        candidates = [p.resolve() for p in project.iterdir() if p.is_dir() and p.resolve() not in before]
    for d in candidates:
        if d not in before and d.is_dir() and d.parent == project:
            shutil.rmtree(d, ignore_errors=True)
    if not project_existed and project.is_dir() and not any(project.iterdir()):
        project.rmdir()

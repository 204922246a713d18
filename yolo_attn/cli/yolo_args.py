"""The words of a ``yolo-attn`` command line, made to agree with ``train_attn.py`` before ultralytics reads them.

* ``--import MODULE`` (repeatable, also ``--import=MODULE``): taken out and imported (``yolo_attn.user_imports``);
* ``data=shapes|shapes-hard|shapes-seg``: the embedded sets, as everywhere (``yolo_attn.data.embedded``);
* ``train`` without ``data=`` (and not resuming): the embedded demo set of the model's task (``shapes``, or
  ``shapes-seg`` for a segmentation model) instead of ultralytics' coco8 download.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ("split_imports", "mode_and_task", "with_data")


def split_imports(words: list[str]) -> tuple[list[str], list[str]]:
    """``(other words, modules)`` of ``--import MODULE`` / ``--import=MODULE``."""
    from yolo_attn.errors import UsageError

    rest, modules, it = [], [], iter(words)
    for w in it:
        if w == "--import":
            m = next(it, None)
            if m is None or "=" in m:
                raise UsageError("--import needs a module name, e.g. --import my_attn (a my_attn.py in the working "
                                 "directory or on PYTHONPATH)")
            modules.append(m)
        elif w.startswith("--import="):
            modules.append(w.split("=", 1)[1])
        else:
            rest.append(w)
    return rest, modules


def _value(words: list[str], key: str) -> str | None:
    for w in words:
        if w.startswith(key + "="):
            return w.split("=", 1)[1]
    return None


def mode_and_task(words: list[str]) -> tuple[str | None, str | None]:
    """The mode (``train``, ``val``, ...) and task (``detect``, ``segment``, ...) a ``yolo`` command line names."""
    from ultralytics.cfg import MODES, TASKS

    mode = _value(words, "mode") or next((w for w in words if w in MODES), None)
    task = _value(words, "task") or next((w for w in words if w in TASKS), None)
    return mode, task


def _model_task(words: list[str], task: str | None) -> str:
    if task:
        return task
    model = _value(words, "model")
    if model and (Path(model).is_file() or model.endswith((".yaml", ".yml"))):
        from yolo_attn.engine.trainers import task_of

        try:
            return task_of(model)
        except Exception:  # ultralytics reports a bad model itself, in its own words
            return "detect"
    return "segment" if model and "-seg" in Path(model).stem else "detect"


def with_data(words: list[str]) -> list[str]:
    """``words`` with ``data=<embedded name>`` replaced by its yaml path, and the demo set added to a ``train``
    command that names no data and does not resume."""
    from yolo_attn.data.embedded import demo_dataset, embedded_dataset

    out = []
    for w in words:
        if w.startswith("data="):
            name = w.split("=", 1)[1]
            found = None if Path(name).is_file() else embedded_dataset(name)
            w = f"data={found}" if found else w
        out.append(w)
    mode, task = mode_and_task(out)
    resume = any(w == "resume" or (w.startswith("resume=") and w != "resume=False") for w in out)
    if mode == "train" and _value(out, "data") is None and not resume:
        out.append(f"data={demo_dataset(_model_task(out, task))}")
    return out

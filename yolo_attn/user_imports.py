"""Users' own modules (``@register_attention`` classes in ``my_attn.py``) loaded by name, in every process.

``--import MODULE`` (repeatable) on the scripts and ``yolo-attn``, and ``YOLO_ATTN_IMPORT=mod1,mod2`` in the
environment, which ``import yolo_attn`` reads: the flag imports the modules and adds them to the variable, so child
processes (multi-GPU DDP workers, Ray trials, a ``train_attn.py`` started by a grid) import the same modules as soon
as they import yolo_attn, before any yaml is built. The folder a module was found in is added to ``PYTHONPATH`` for
the children too (a Ray trial may run in another working directory). Modules are looked up on ``sys.path`` and then
in the working directory, as ``python -m`` would.
"""

from __future__ import annotations

import importlib
import os
import sys
from pathlib import Path

__all__ = ("ENV", "ModuleNotImportable", "import_modules", "import_from_env", "use_imports", "add_import_arg")

ENV = "YOLO_ATTN_IMPORT"


class ModuleNotImportable(ImportError):
    """A module named by ``--import`` / ``$YOLO_ATTN_IMPORT`` is not on the path (not: one of its own imports failed)."""


def _names(text: str | None) -> list[str]:
    return [n.strip() for n in (text or "").split(",") if n.strip()]


def import_modules(names, what: str = "--import") -> list:
    """Import each module name (the working directory searched last); an ``ImportError`` names the module and how
    to make it importable. Returns the modules."""
    cwd = os.getcwd()
    if cwd not in sys.path:
        sys.path.append(cwd)  # `train_attn.py` and console scripts put their own folder first, not the cwd
    out = []
    for name in names:
        try:
            out.append(importlib.import_module(name))
        except ModuleNotFoundError as e:
            if e.name != name.split(".")[0] and e.name != name:
                raise  # the module exists but one of its own imports is missing: its traceback says which
            raise ModuleNotImportable(
                f"{what} {name}: no module named {name!r} in the working directory ({cwd}) or on PYTHONPATH; put "
                f"{name.replace('.', '/')}.py there or add its folder to PYTHONPATH"
            ) from None
    return out


def import_from_env() -> list:
    """What ``import yolo_attn`` runs last: import the modules named in ``$YOLO_ATTN_IMPORT``."""
    return import_modules(_names(os.environ.get(ENV)), what=f"{ENV}:")


def use_imports(names) -> list:
    """The ``--import`` flag: import ``names`` here and pass them to every child process (``$YOLO_ATTN_IMPORT`` and,
    for the folders they were found in, ``PYTHONPATH``)."""
    names = [n for arg in names or [] for n in _names(arg)]
    if not names:
        return []
    try:
        modules = import_modules(names)
    except ModuleNotImportable as e:
        from yolo_attn.errors import UsageError

        raise UsageError(str(e)) from None
    merged = list(dict.fromkeys(_names(os.environ.get(ENV)) + names))
    os.environ[ENV] = ",".join(merged)
    paths = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    for m in modules:
        f = getattr(m, "__file__", None)
        if f:
            top = Path(f).resolve().parents[m.__name__.count(".") + (Path(f).name == "__init__.py")]
            if str(top) not in paths:
                paths.append(str(top))
    os.environ["PYTHONPATH"] = os.pathsep.join(paths)
    return modules


def add_import_arg(p) -> None:
    """Add ``--import MODULE`` (repeatable) to argparse parser ``p``."""
    p.add_argument("--import", dest="imports", action="append", default=[], metavar="MODULE",
                   help="import this Python module first (repeatable; also comma lists), e.g. one whose classes use "
                        "@yolo_attn.register_attention; child processes (DDP, Ray) import it too, via $YOLO_ATTN_IMPORT")

"""What ultralytics needs to treat ``yolo-attn`` as its own ``yolo`` command line (the CLI side of the seam).

ultralytics decides "this is the CLI" from ``ARGV[0]`` (its alias of ``sys.argv``) ending in ``yolo``
(``ultralytics/engine/model.py``: ``predict``/``track`` then save their outputs, ``save=True``, and stream through
``predict_cli``). ``yolo-attn`` and ``python -m yolo_attn.cli.yolo`` do not end so, and saved nothing.
:func:`as_yolo_cli` sets ``ARGV[0]`` to ``yolo_attn.cli.yolo`` for the duration: it ends in ``yolo``, so every mode
behaves as under ``yolo``, while its name is not exactly ``yolo`` (ultralytics' crash reporter, which keys on that
name, keeps treating it as a third-party program). ultralytics' help and settings messages are unaffected.
"""

from __future__ import annotations

import logging
from contextlib import contextmanager

__all__ = ("CLI_NAME", "as_yolo_cli", "without_cli_help")

CLI_NAME = "yolo_attn.cli.yolo"


@contextmanager
def as_yolo_cli():
    """Run the body with ultralytics' ``ARGV[0]`` ending in ``yolo`` (restored afterwards)."""
    from ultralytics.utils import ARGV

    if not ARGV:  # ultralytics falls back to ["", ""] for an empty sys.argv; nothing to do then
        yield
        return
    old = ARGV[0]
    ARGV[0] = CLI_NAME  # in place: ultralytics.cfg.ARGV, ultralytics.utils.ARGV and sys.argv are one list
    try:
        yield
    finally:
        ARGV[0] = old


class _HoldHelp(logging.Filter):
    """Holds back ultralytics' CLI help message (dropped here, shown again by :func:`without_cli_help` unless the
    call failed)."""

    def __init__(self):
        super().__init__()
        self.held = 0

    def filter(self, record) -> bool:
        from ultralytics.cfg import CLI_HELP_MSG

        if record.getMessage() == CLI_HELP_MSG:
            self.held += 1
            return False
        return True


@contextmanager
def without_cli_help():
    """Hold back the 70-line CLI help ultralytics logs before raising ``SyntaxError`` for an unknown setting (its
    ``check_dict_alignment``); the ``SyntaxError``, with ultralytics' suggestion, still comes. When the body ends
    without an error (``yolo-attn help``, or no arguments) the held help is logged after all."""
    from ultralytics.cfg import CLI_HELP_MSG
    from ultralytics.utils import LOGGER

    f = _HoldHelp()
    LOGGER.addFilter(f)
    try:
        yield
    finally:
        LOGGER.removeFilter(f)
    for _ in range(f.held):  # reached only without an exception
        LOGGER.info(CLI_HELP_MSG)

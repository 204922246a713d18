"""Helpers for the thin top-level scripts (``train_attn.py``, ``val_attn.py``, ``compare_attn.py``, ...)."""

from __future__ import annotations

import sys
import traceback

from yolo_attn.errors import UsageError

__all__ = ("main_guard", "script_main", "run_script")


def main_guard(main, argv=None) -> int:
    """Run ``main(argv)``; print a ``UsageError`` as one ``error:`` line (exit 2) instead of a traceback, and a Ctrl-C
    as one line, exit 130 (the shell's code for SIGINT).

    With ``--verbose`` among the arguments the full traceback (including the ultralytics exception a ``UsageError``
    was made from) is printed before the ``error:`` line.
    """
    words = sys.argv[1:] if argv is None else list(argv)
    try:
        main(argv)
    except UsageError as e:
        if "--verbose" in words:
            traceback.print_exc()
        print(f"error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:  # Ctrl-C: what was written stays (training keeps its last.pt), no traceback
        if "--verbose" in words:
            traceback.print_exc()
        print("interrupted (Ctrl-C)", file=sys.stderr)
        return 130
    return 0


def script_main(main, doc: str | None):
    """A root script's ``main(argv=None)``: the ``yolo_attn.cli`` module's ``main(argv, doc)``, so the script's own
    docstring is its ``--help`` description."""

    def script(argv=None):
        main(argv, doc)

    return script


def run_script(main) -> None:
    """A root script run as a program: exit with ``main_guard(main)``'s status (2 and one ``error:`` line on bad input)."""
    sys.exit(main_guard(main))

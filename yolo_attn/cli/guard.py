"""Helpers for the thin top-level scripts (``train_attn.py``, ``val_attn.py``, ``compare_attn.py``, ...)."""

from __future__ import annotations

import sys
import traceback

from yolo_attn.errors import UsageError

__all__ = ("main_guard", "script_main", "run_script", "add_loading_args", "use_loading_args", "add_protocol_arg")


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


def add_loading_args(parser) -> None:
    """``--import MODULE`` and ``--trust-weights``: what a script may load besides the files it is given."""
    from yolo_attn.checkpoint.loader import add_trust_arg
    from yolo_attn.user_imports import add_import_arg

    add_import_arg(parser)
    add_trust_arg(parser)


def use_loading_args(args) -> None:
    """Apply them before any yaml or checkpoint is read: the trust opt-in, then the user's modules."""
    from yolo_attn.checkpoint.loader import use_trust
    from yolo_attn.user_imports import use_imports

    use_trust(args.trust_weights)
    use_imports(args.imports)


def add_protocol_arg(parser, what: str) -> None:
    """``--protocol ultralytics|yolov5`` (``yolo_attn.protocols``); ``what`` says which validations it sets."""
    from yolo_attn.protocols import DEFAULT_PROTOCOL, PROTOCOLS

    parser.add_argument("--protocol", default=DEFAULT_PROTOCOL, choices=tuple(PROTOCOLS),
                        help=f"validation settings of {what}: ultralytics' own (NMS IoU 0.7, best.pt by mAP50-95), or "
                             "YOLOv5 val.py's (NMS IoU 0.6, 0.65 on COCO; conf 0.001; max_det 300; fitness 0.1 mAP50 "
                             "+ 0.9 mAP50-95), for figures comparable with YOLOv5's tables (default: ultralytics)")

"""The ``key=value`` words a script's parser leaves over: ultralytics settings passed through unchanged."""

from __future__ import annotations

from yolo_attn.errors import UsageError

__all__ = ("pass_through", "check_settings", "settings_error", "end_values_at_settings")


def pass_through(extra: list[str]) -> dict:
    """``key=value`` words left over by argparse -> dict for ultralytics (values parsed as ultralytics does)."""
    from ultralytics.cfg import smart_value

    out = {}
    for word in extra:
        if "=" not in word or word.startswith("-"):
            raise UsageError(f"unrecognised argument {word!r}; extra ultralytics settings are written key=value, e.g. lr0=0.005")
        k, v = word.split("=", 1)
        out[k] = smart_value(v)
    check_settings(out, {k: w for w in extra if "=" in w for k in [w.split("=", 1)[0]]})
    return out


def end_values_at_settings(argv: list[str] | None, flags=("--seed",)) -> list[str]:
    """``argv`` with the ``key=value`` words that follow a many-valued flag's values moved before that flag.

    argparse's ``nargs="+"`` takes every word up to the next flag, so ``--seed 0 warmup_epochs=4`` would hand
    ``warmup_epochs=4`` to ``--seed`` (``invalid int value``). A flag's values end where a ``key=value`` begins; the
    settings keep their order among themselves and are left over for ``pass_through``. ``None``: ``sys.argv[1:]``.
    """
    if argv is None:
        import sys

        argv = sys.argv[1:]
    out, i, argv = [], 0, list(argv)
    while i < len(argv):
        if argv[i] not in flags:
            out.append(argv[i])
            i += 1
            continue
        j = i + 1
        while j < len(argv) and not argv[j].startswith("-") and "=" not in argv[j]:
            j += 1  # the flag's own values
        k = j
        while k < len(argv) and not argv[k].startswith("-"):
            k += 1  # the settings that follow them, and any word after those (left over, never a value)
        out += argv[j:k] + argv[i:j]
        i = k
    return out


def settings_error(e: SyntaxError) -> str:
    """ultralytics' message for unknown settings (with its suggestions), on one line, without the CLI help."""
    from ultralytics.cfg import CLI_HELP_MSG

    text = str(e.msg if e.msg is not None else e).split(CLI_HELP_MSG)[0]
    return " ".join(line.strip() for line in text.splitlines() if line.strip())


def check_settings(settings: dict, words: dict | None = None) -> None:
    """Refuse a ``key=value`` setting ultralytics does not know, before any run folder, with ultralytics' own check
    and suggestion (``lr=0.001``: "'lr' is not a valid YOLO argument. Similar arguments are i.e. ['lr0=0.01',
    'lrf=0.01']."), as one ``UsageError`` line instead of its CLI help and a ``SyntaxError`` traceback."""
    from ultralytics.cfg import DEFAULT_CFG_DICT, check_dict_alignment

    from yolo_attn.anchor.hyp import YOLOV5_ONLY
    from yolo_attn.plugin.cli import without_cli_help

    known = {**DEFAULT_CFG_DICT, **YOLOV5_ONLY}  # obj=, anchor_t=, ...: checked against the head when training starts
    try:
        with without_cli_help():
            check_dict_alignment(known, dict(settings))
    except SyntaxError as e:
        bad = [w for k, w in (words or {}).items() if k not in known]
        raise UsageError(f"{' '.join(bad) + ': ' if bad else ''}{settings_error(e)}") from None

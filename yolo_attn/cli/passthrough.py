"""The ``key=value`` words a script's parser leaves over: ultralytics settings passed through unchanged."""

from __future__ import annotations

from yolo_attn.errors import UsageError

__all__ = ("pass_through",)


def pass_through(extra: list[str]) -> dict:
    """``key=value`` words left over by argparse -> dict for ultralytics (values parsed as ultralytics does)."""
    from ultralytics.cfg import smart_value

    out = {}
    for word in extra:
        if "=" not in word or word.startswith("-"):
            raise UsageError(f"unrecognised argument {word!r}; extra ultralytics settings are written key=value, e.g. lr0=0.005")
        k, v = word.split("=", 1)
        out[k] = smart_value(v)
    return out

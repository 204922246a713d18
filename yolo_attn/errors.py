"""The one exception type for bad user input."""

from __future__ import annotations

__all__ = ("UsageError",)


class UsageError(ValueError):
    """Bad command-line input; the message says what to do. The scripts print it without a traceback."""
